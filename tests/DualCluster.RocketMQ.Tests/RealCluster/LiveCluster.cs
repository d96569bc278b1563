using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// One cluster the real-cluster suite runs against: its connection settings, and the topic and consumer group the
/// operator created for the check. Transports are made by the factory <c>UseRocketMQ()</c> registers, after its own
/// validation, exactly as an application's would be.
/// </summary>
internal sealed record LiveCluster(string Protocol, ClusterOptions Options, string Topic, string Group)
{
    public const string Remoting = "Remoting";
    public const string Grpc = "Grpc";

    private static readonly IServiceProvider NoServices = new ServiceCollection().BuildServiceProvider();

    /// <summary>Whether the protocol reports the backlog exactly (4.x: yes; the 5.x client protocol has no backlog query).</summary>
    public bool BacklogIsExact => Protocol == Remoting;

    /// <summary>
    /// How long a delivered, unsettled message stays invisible in these tests: 2 s for 4.x (redelivery goes through the
    /// retry topic, not invisibility), 10 s for 5.x, the proxy's minimum (the transport raises anything lower to it).
    /// </summary>
    public TimeSpan InvisibleDuration => Protocol == Remoting ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(10);

    /// <summary>The role this cluster usually plays in a migration (4.x Old, 5.x New).</summary>
    public ClusterRole UsualRole => Protocol == Remoting ? ClusterRole.Old : ClusterRole.New;

    /// <summary>Connects a transport to this cluster as <paramref name="role"/>; invalid settings fail with the validator's words.</summary>
    public IClusterTransport Connect(ClusterRole role)
    {
        var factory = Factory(Protocol);
        var problems = factory.Validate(role, Options).ToList();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                $"The DUALCLUSTER_IT_{Protocol.ToUpperInvariant()}_* variables describe an invalid cluster: " + string.Join(" ", problems));
        }

        return factory.Create(role, Options, NoServices);
    }

    /// <summary>A copy of the settings for a <c>DualCluster:Clusters:{role}</c> section.</summary>
    public ClusterOptions CopyOptions() => new()
    {
        Protocol = Options.Protocol,
        Endpoint = Options.Endpoint,
        NameServers = Options.NameServers,
        Namespace = Options.Namespace,
        AccessKey = Options.AccessKey,
        SecretKey = Options.SecretKey,
        SecurityToken = Options.SecurityToken,
        Tls = Options.Tls,
        AllowInvalidCertificates = Options.AllowInvalidCertificates,
        MaxBodySize = Options.MaxBodySize,
        RequestTimeout = Options.RequestTimeout,
        Settings = new Dictionary<string, string>(Options.Settings, StringComparer.OrdinalIgnoreCase),
    };

    /// <summary>Secrets stay out of test output.</summary>
    public override string ToString() =>
        $"{Protocol} {Options.NameServers ?? Options.Endpoint} topic={Topic} group={Group}" + (string.IsNullOrEmpty(Options.Namespace) ? "" : $" namespace={Options.Namespace}");

    /// <summary>The transport factory <c>UseRocketMQ()</c> registers for <paramref name="protocol"/>.</summary>
    public static IClusterTransportFactory Factory(string protocol)
    {
        var services = new ServiceCollection();
        services.AddDualCluster(_ => { }).UseRocketMQ();
        return services
            .Where(d => d.ServiceType == typeof(IClusterTransportFactory))
            .Select(d => (IClusterTransportFactory)d.ImplementationInstance!)
            .Single(f => string.Equals(f.Protocol, protocol, StringComparison.OrdinalIgnoreCase));
    }
}
