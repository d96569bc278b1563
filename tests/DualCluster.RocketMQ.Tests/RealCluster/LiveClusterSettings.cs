using System.Globalization;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The live clusters the real-cluster suite is pointed at, read from the <c>DUALCLUSTER_IT_*</c> environment variables
/// (docs/real-clusters.md). A protocol whose server variable is unset is skipped with a reason; a server that is set
/// with missing or invalid companions (topic, group, TLS flag) is not skipped: its tests fail with what to fix, because
/// the operator meant to run them.
/// </summary>
internal sealed class LiveClusterSettings
{
    public const string RemotingNameServers = "DUALCLUSTER_IT_REMOTING_NAMESERVERS";
    public const string RemotingAccessKey = "DUALCLUSTER_IT_REMOTING_ACCESS_KEY";
    public const string RemotingSecretKey = "DUALCLUSTER_IT_REMOTING_SECRET_KEY";
    public const string RemotingNamespace = "DUALCLUSTER_IT_REMOTING_NAMESPACE";
    public const string GrpcEndpoint = "DUALCLUSTER_IT_GRPC_ENDPOINT";
    public const string GrpcAccessKey = "DUALCLUSTER_IT_GRPC_ACCESS_KEY";
    public const string GrpcSecretKey = "DUALCLUSTER_IT_GRPC_SECRET_KEY";
    public const string GrpcNamespace = "DUALCLUSTER_IT_GRPC_NAMESPACE";
    public const string GrpcTls = "DUALCLUSTER_IT_GRPC_TLS";
    public const string GrpcAllowInvalidCertificates = "DUALCLUSTER_IT_GRPC_ALLOW_INVALID_CERTIFICATES";
    public const string Topic = "DUALCLUSTER_IT_TOPIC";
    public const string Group = "DUALCLUSTER_IT_GROUP";

    private readonly Func<string, string?> _variable;

    private LiveClusterSettings(Func<string, string?> variable)
    {
        _variable = name => variable(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
        RemotingSkipReason = _variable(RemotingNameServers) is null
            ? $"set {RemotingNameServers} to run against a live 4.x cluster (see docs/real-clusters.md)"
            : null;
        GrpcSkipReason = _variable(GrpcEndpoint) is null
            ? $"set {GrpcEndpoint} to run against a live 5.x cluster (see docs/real-clusters.md)"
            : null;
        MigrationSkipReason = (RemotingSkipReason, GrpcSkipReason) switch
        {
            (null, null) => null,
            _ => $"set both {RemotingNameServers} (Old, 4.x) and {GrpcEndpoint} (New, 5.x) to run the migration smoke test (see docs/real-clusters.md)",
        };
    }

    /// <summary>The settings of this process's environment, read once.</summary>
    public static LiveClusterSettings Environment { get; } = new(System.Environment.GetEnvironmentVariable);

    /// <summary>Why the 4.x tests are skipped; null when they run.</summary>
    public string? RemotingSkipReason { get; }

    /// <summary>Why the 5.x tests are skipped; null when they run.</summary>
    public string? GrpcSkipReason { get; }

    /// <summary>Why the migration smoke test is skipped; null when it runs.</summary>
    public string? MigrationSkipReason { get; }

    /// <summary>Settings from explicit variables (the loopback check hands its servers over this way).</summary>
    public static LiveClusterSettings From(IReadOnlyDictionary<string, string> variables) =>
        new(name => variables.TryGetValue(name, out var value) ? value : null);

    /// <summary>The 4.x cluster; throws with what to set when the variables are incomplete or invalid.</summary>
    public LiveCluster RequireRemoting()
    {
        var nameServers = _variable(RemotingNameServers)
            ?? throw new InvalidOperationException(RemotingSkipReason);
        var (topic, group) = RequireNames(RemotingNameServers);
        var options = new ClusterOptions
        {
            Protocol = LiveCluster.Remoting,
            NameServers = nameServers,
            AccessKey = _variable(RemotingAccessKey),
            SecretKey = _variable(RemotingSecretKey),
            Namespace = _variable(RemotingNamespace),
            RequestTimeout = TimeSpan.FromSeconds(5),
            Settings =
            {
                // Quicker than production so stops, restarts and redeliveries take seconds, not minutes.
                ["PullSuspendTimeout"] = "00:00:02",
                ["RebalanceInterval"] = "00:00:02",
                ["OffsetPersistInterval"] = "00:00:00.200",
                ["HeartbeatInterval"] = "00:00:05",
                ["MaxReconnectBackoff"] = "00:00:00.500",
            },
        };
        return new LiveCluster(LiveCluster.Remoting, options, topic, group);
    }

    /// <summary>The 5.x cluster; throws with what to set when the variables are incomplete or invalid.</summary>
    public LiveCluster RequireGrpc()
    {
        var endpoint = _variable(GrpcEndpoint)
            ?? throw new InvalidOperationException(GrpcSkipReason);
        var (topic, group) = RequireNames(GrpcEndpoint);
        var options = new ClusterOptions
        {
            Protocol = LiveCluster.Grpc,
            Endpoint = endpoint,
            AccessKey = _variable(GrpcAccessKey),
            SecretKey = _variable(GrpcSecretKey),
            Namespace = _variable(GrpcNamespace),
            Tls = Flag(GrpcTls),
            AllowInvalidCertificates = Flag(GrpcAllowInvalidCertificates),
            RequestTimeout = TimeSpan.FromSeconds(5),
            Settings =
            {
                ["AssignmentScanInterval"] = "00:00:01",
                ["TelemetryReconnectDelay"] = "00:00:00.200",
            },
        };
        return new LiveCluster(LiveCluster.Grpc, options, topic, group);
    }

    private (string Topic, string Group) RequireNames(string server)
    {
        var topic = _variable(Topic);
        var group = _variable(Group);
        if (topic is null || group is null)
        {
            throw new InvalidOperationException(
                $"{server} is set but {(topic is null ? Topic : Group)} is not: set {Topic} and {Group} to the topic (type NORMAL) and the " +
                "consumer group you created for this check on every cluster under test (see docs/real-clusters.md). The suite never creates them.");
        }

        MessageValidator.ValidateTopic(topic);
        MessageValidator.ValidateGroup(group);
        return (topic, group);
    }

    private bool Flag(string name) => _variable(name) switch
    {
        null => false,
        var text when bool.TryParse(text, out var value) => value,
        var text when text == "1" => true,
        var text when text == "0" => false,
        var text => throw new InvalidOperationException(
            string.Create(CultureInfo.InvariantCulture, $"{name} is '{text}': use true or false.")),
    };
}
