using System.Globalization;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// The remoting transport's view of one cluster's <see cref="ClusterOptions"/>: name servers, credentials,
/// namespace, plus tuning read from <see cref="ClusterOptions.Settings"/> (keys listed in docs/remoting.md).
/// </summary>
internal sealed class RemotingSettings
{
    public IReadOnlyList<string> NameServers { get; init; } = [];

    public string? Namespace { get; init; }

    public string? AccessKey { get; init; }

    public string? SecretKey { get; init; }

    public string? SecurityToken { get; init; }

    public int MaxBodySize { get; init; } = MessageValidator.DefaultMaxBodySize;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    public string ProducerGroup { get; init; } = "DualCluster_PRODUCER";

    public int SendRetries { get; init; } = 2;

    public int CompressOverBytes { get; init; } = 4096;

    public bool UseStartDeliverTime { get; init; }

    public bool ConsumeFromFirstOffset { get; init; }

    public TimeSpan PullSuspendTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public int PullBatchSize { get; init; } = 32;

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan RouteRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan RebalanceInterval { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan OffsetPersistInterval { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan FaultAvoidance { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(5);

    public string? InstanceName { get; init; }

    public bool HasCredentials => !string.IsNullOrEmpty(AccessKey);

    /// <summary>Reads the settings; call <see cref="Validate"/> first for friendly errors.</summary>
    public static RemotingSettings From(ClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var s = options.Settings;
        return new RemotingSettings
        {
            NameServers = SplitNameServers(options.NameServers),
            Namespace = string.IsNullOrWhiteSpace(options.Namespace) ? null : options.Namespace.Trim(),
            AccessKey = string.IsNullOrEmpty(options.AccessKey) ? null : options.AccessKey,
            SecretKey = options.SecretKey,
            SecurityToken = string.IsNullOrEmpty(options.SecurityToken) ? null : options.SecurityToken,
            MaxBodySize = options.MaxBodySize,
            RequestTimeout = options.RequestTimeout,
            ConnectTimeout = Time(s, "ConnectTimeout", TimeSpan.FromSeconds(3)),
            ProducerGroup = Text(s, "ProducerGroup") ?? "DualCluster_PRODUCER",
            SendRetries = Int(s, "SendRetries", 2),
            CompressOverBytes = Int(s, "CompressOverBytes", 4096),
            UseStartDeliverTime = string.Equals(Text(s, "DelayMode"), "StartDeliverTime", StringComparison.OrdinalIgnoreCase),
            ConsumeFromFirstOffset = string.Equals(Text(s, "ConsumeFromWhere"), "First", StringComparison.OrdinalIgnoreCase),
            PullSuspendTimeout = Time(s, "PullSuspendTimeout", TimeSpan.FromSeconds(15)),
            PullBatchSize = Int(s, "PullBatchSize", 32),
            HeartbeatInterval = Time(s, "HeartbeatInterval", TimeSpan.FromSeconds(30)),
            RouteRefreshInterval = Time(s, "RouteRefreshInterval", TimeSpan.FromSeconds(30)),
            RebalanceInterval = Time(s, "RebalanceInterval", TimeSpan.FromSeconds(20)),
            OffsetPersistInterval = Time(s, "OffsetPersistInterval", TimeSpan.FromSeconds(5)),
            FaultAvoidance = Time(s, "FaultAvoidance", TimeSpan.FromSeconds(3)),
            MaxReconnectBackoff = Time(s, "MaxReconnectBackoff", TimeSpan.FromSeconds(5)),
            InstanceName = Text(s, "InstanceName"),
        };
    }

    /// <summary>One message per problem, naming the configuration key.</summary>
    public static IEnumerable<string> Validate(ClusterRole role, ClusterOptions options)
    {
        var prefix = $"DualCluster:Clusters:{role}";
        var servers = SplitNameServers(options.NameServers);
        if (servers.Count == 0)
        {
            yield return $"{prefix}:NameServers is empty: set the 4.x name server list, e.g. \"10.0.0.5:9876;10.0.0.6:9876\" (Protocol is Remoting).";
        }

        foreach (var server in servers)
        {
            string? problem = null;
            try
            {
                RemotingConnection.ParseAddress(server);
            }
            catch (FormatException)
            {
                problem = $"{prefix}:NameServers entry '{server}' is not host:port: separate addresses with ';', e.g. \"10.0.0.5:9876;10.0.0.6:9876\".";
            }

            if (problem is not null)
            {
                yield return problem;
            }
        }

        // This transport speaks plain TCP only. Accepting Tls=true would send the AccessKey and every signature in
        // cleartext to a cluster the operator believes is encrypted (issue 19, finding 4): refuse instead of downgrading.
        if (options.Tls)
        {
            yield return $"{prefix}:Tls is true, but the Remoting protocol here has no TLS support and would send everything (AccessKey and signatures included) in plaintext: "
                + "set Tls to false and protect the network path (private network, VPN), or use the 5.x gRPC endpoint (\"Protocol\": \"Grpc\", \"Tls\": true).";
        }

        if (!string.IsNullOrEmpty(options.AccessKey) && string.IsNullOrEmpty(options.SecretKey))
        {
            yield return $"{prefix}:SecretKey is empty while AccessKey is set: set both (TDMQ: AccessKey = role token, SecretKey = role name) or neither.";
        }

        if (string.IsNullOrEmpty(options.AccessKey) && !string.IsNullOrEmpty(options.SecretKey))
        {
            yield return $"{prefix}:AccessKey is empty while SecretKey is set: set both or neither.";
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            yield return $"{prefix}:RequestTimeout must be positive, e.g. \"00:00:03\".";
        }

        foreach (var (key, value) in options.Settings)
        {
            var problem = key.ToUpperInvariant() switch
            {
                "SENDRETRIES" or "COMPRESSOVERBYTES" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    ? null : "must be a non-negative integer",
                "PULLBATCHSIZE" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 1024
                    ? null : "must be an integer from 1 to 1024",
                "CONNECTTIMEOUT" or "PULLSUSPENDTIMEOUT" or "HEARTBEATINTERVAL" or "ROUTEREFRESHINTERVAL" or "REBALANCEINTERVAL"
                    or "OFFSETPERSISTINTERVAL" or "FAULTAVOIDANCE" or "MAXRECONNECTBACKOFF" =>
                    TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var t) && t > TimeSpan.Zero ? null : "must be a positive time span such as \"00:00:05\"",
                "DELAYMODE" => value is "Level" or "StartDeliverTime" ? null : "must be \"Level\" (Apache delay levels) or \"StartDeliverTime\" (TDMQ __STARTDELIVERTIME)",
                "CONSUMEFROMWHERE" => value is "Last" or "First" ? null : "must be \"Last\" or \"First\"",
                _ => null,
            };
            if (problem is not null)
            {
                yield return $"{prefix}:Settings:{key} = '{value}' {problem}.";
            }
        }
    }

    private static List<string> SplitNameServers(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : [.. value.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static string? Text(Dictionary<string, string> settings, string key) =>
        settings.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static int Int(Dictionary<string, string> settings, string key, int fallback) =>
        Text(settings, key) is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static TimeSpan Time(Dictionary<string, string> settings, string key, TimeSpan fallback) =>
        Text(settings, key) is { } text && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero ? value : fallback;
}
