namespace DualCluster.Routing;

/// <summary>Resolves a node's id: configured value, else <c>POD_NAME</c>, else <c>HOSTNAME</c>, else the machine name.</summary>
internal static class NodeIdentity
{
    public static string Resolve(string? configured, Func<string, string?>? environment = null)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured.Trim();
        }

        environment ??= Environment.GetEnvironmentVariable;
        var fromEnvironment = environment("POD_NAME");
        if (string.IsNullOrWhiteSpace(fromEnvironment))
        {
            fromEnvironment = environment("HOSTNAME");
        }

        return string.IsNullOrWhiteSpace(fromEnvironment) ? Environment.MachineName : fromEnvironment.Trim();
    }
}
