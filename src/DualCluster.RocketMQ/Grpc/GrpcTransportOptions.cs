using System.Globalization;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// The settings one gRPC transport runs with: the cluster's <see cref="ClusterOptions"/> plus the schedule
/// and limits read from <c>ClusterOptions.Settings</c> (keys below; values as <c>TimeSpan</c> / integers).
/// </summary>
internal sealed class GrpcTransportOptions
{
    public const string HeartbeatIntervalKey = "HeartbeatInterval";
    public const string RouteRefreshIntervalKey = "RouteRefreshInterval";
    public const string SettingsSyncIntervalKey = "SettingsSyncInterval";
    public const string AssignmentScanIntervalKey = "AssignmentScanInterval";
    public const string TelemetryReconnectDelayKey = "TelemetryReconnectDelay";
    public const string LongPollingTimeoutKey = "LongPollingTimeout";
    public const string ConsumerCacheSizeKey = "ConsumerCacheSize";
    public const string ShutdownTimeoutKey = "ShutdownTimeout";
    public const string KeepInvisibleWhileHandlingKey = "KeepInvisibleWhileHandling";
    public const string ReceivesPerQueueKey = "ReceivesPerQueue";

    private static readonly string[] TimeKeys =
        [HeartbeatIntervalKey, RouteRefreshIntervalKey, SettingsSyncIntervalKey, AssignmentScanIntervalKey, TelemetryReconnectDelayKey, LongPollingTimeoutKey, ShutdownTimeoutKey];

    public required ClusterRole Role { get; init; }
    public required GrpcEndpoint AccessPoint { get; init; }
    public string Namespace { get; init; } = "";
    public string? AccessKey { get; init; }
    public string? SecretKey { get; init; }
    public string? SecurityToken { get; init; }
    public bool AllowInvalidCertificates { get; init; }
    public int MaxBodySize { get; init; } = MessageValidator.DefaultMaxBodySize;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Heartbeat to every broker endpoint (fact sheet §4.2: 10 s).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Route refresh (30 s).</summary>
    public TimeSpan RouteRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Settings re-sent on Telemetry (5 min).</summary>
    public TimeSpan SettingsSyncInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Push-consumer assignment scan (5 s).</summary>
    public TimeSpan AssignmentScanInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Wait before reopening a broken Telemetry stream (Java: 1 s; the C# client never reopens).</summary>
    public TimeSpan TelemetryReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Long-polling time asked for until the server's settings say otherwise (proxy: 20 s, clamped to [5 s, 20 s]).</summary>
    public TimeSpan LongPollingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Messages a consumer holds locally (fetched, not yet settled).</summary>
    public int ConsumerCacheSize { get; init; } = 256;

    /// <summary>
    /// ReceiveMessage calls a push consumer keeps outstanding per assigned queue (FIFO groups always 1, to keep order), so
    /// the next batch is already on its way while the handlers work on this one. Bounded by <see cref="ConsumerCacheSize"/>.
    /// </summary>
    public int ReceivesPerQueue { get; init; } = 2;

    /// <summary>
    /// Whether a push consumer keeps a delivery invisible while its handler runs, by ChangeInvisibleDuration before the
    /// invisible duration ends (then it acks with the handle that call returned). Off by default: a handler slower than
    /// the subscription's invisible duration sees its message redelivered, and the idempotency gate decides.
    /// </summary>
    public bool KeepInvisibleWhileHandling { get; init; }

    /// <summary>Longest wait for NotifyClientTermination and other goodbyes.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Whether requests are signed.</summary>
    public bool HasCredentials => !string.IsNullOrEmpty(AccessKey) && !string.IsNullOrEmpty(SecretKey);

    /// <summary>Builds the options of <paramref name="role"/>; call <see cref="Validate"/> first.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static GrpcTransportOptions From(ClusterRole role, ClusterOptions options)
    {
        var problems = Validate(role, options).ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, problems), nameof(options));
        }

        GrpcEndpoint.TryParse(options.Endpoint, options.Tls, out var endpoint, out _);
        var defaults = new GrpcTransportOptions { Role = role, AccessPoint = endpoint! };
        return new GrpcTransportOptions
        {
            Role = role,
            AccessPoint = endpoint!,
            Namespace = options.Namespace?.Trim() ?? "",
            AccessKey = string.IsNullOrWhiteSpace(options.AccessKey) ? null : options.AccessKey.Trim(),
            SecretKey = string.IsNullOrWhiteSpace(options.SecretKey) ? null : options.SecretKey.Trim(),
            SecurityToken = string.IsNullOrWhiteSpace(options.SecurityToken) ? null : options.SecurityToken.Trim(),
            AllowInvalidCertificates = options.AllowInvalidCertificates,
            MaxBodySize = options.MaxBodySize,
            RequestTimeout = options.RequestTimeout,
            HeartbeatInterval = Time(options, HeartbeatIntervalKey, defaults.HeartbeatInterval),
            RouteRefreshInterval = Time(options, RouteRefreshIntervalKey, defaults.RouteRefreshInterval),
            SettingsSyncInterval = Time(options, SettingsSyncIntervalKey, defaults.SettingsSyncInterval),
            AssignmentScanInterval = Time(options, AssignmentScanIntervalKey, defaults.AssignmentScanInterval),
            TelemetryReconnectDelay = Time(options, TelemetryReconnectDelayKey, defaults.TelemetryReconnectDelay),
            LongPollingTimeout = Time(options, LongPollingTimeoutKey, defaults.LongPollingTimeout),
            ShutdownTimeout = Time(options, ShutdownTimeoutKey, defaults.ShutdownTimeout),
            KeepInvisibleWhileHandling = options.Settings.TryGetValue(KeepInvisibleWhileHandlingKey, out var keep) && bool.Parse(keep),
            ConsumerCacheSize = options.Settings.TryGetValue(ConsumerCacheSizeKey, out var cache)
                ? int.Parse(cache, NumberStyles.Integer, CultureInfo.InvariantCulture)
                : defaults.ConsumerCacheSize,
            ReceivesPerQueue = options.Settings.TryGetValue(ReceivesPerQueueKey, out var receives)
                ? int.Parse(receives, NumberStyles.Integer, CultureInfo.InvariantCulture)
                : defaults.ReceivesPerQueue,
        };
    }

    /// <summary>One message per problem, naming the configuration key and the fix.</summary>
    public static IEnumerable<string> Validate(ClusterRole role, ClusterOptions options)
    {
        var prefix = $"DualCluster:Clusters:{role}";
        if (!GrpcEndpoint.TryParse(options.Endpoint, options.Tls, out _, out var error))
        {
            yield return $"{prefix}:Endpoint {error}: set it to the 5.x gRPC endpoint (host:port) of the cluster.";
        }
        else if (options.Tls && options.Endpoint!.Trim().StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"{prefix}:Endpoint '{options.Endpoint}' says http:// (plaintext) while {prefix}:Tls is true: use https:// or set Tls to false.";
        }

        var hasAk = !string.IsNullOrWhiteSpace(options.AccessKey);
        var hasSk = !string.IsNullOrWhiteSpace(options.SecretKey);
        if (hasAk != hasSk)
        {
            yield return hasAk
                ? $"{prefix}:SecretKey is empty while {prefix}:AccessKey is set: set both (from the console's role/token page) or neither."
                : $"{prefix}:AccessKey is empty while {prefix}:SecretKey is set: set both or neither.";
        }

        if (!string.IsNullOrWhiteSpace(options.SecurityToken) && !hasAk)
        {
            yield return $"{prefix}:SecurityToken is set without {prefix}:AccessKey/SecretKey: a token is only sent with signed requests.";
        }

        if (options.Namespace is { Length: > 0 } ns && ns.Trim().Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            yield return $"{prefix}:Namespace '{ns}' contains spaces or control characters: copy it verbatim from the console, or leave it empty.";
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            yield return $"{prefix}:RequestTimeout must be positive (default 00:00:03).";
        }

        if (options.MaxBodySize <= 0)
        {
            yield return $"{prefix}:MaxBodySize must be positive (default {MessageValidator.DefaultMaxBodySize}).";
        }

        foreach (var key in TimeKeys)
        {
            if (options.Settings.TryGetValue(key, out var value)
                && (!TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) || span <= TimeSpan.Zero))
            {
                yield return $"{prefix}:Settings:{key} '{value}' is not a positive TimeSpan (e.g. 00:00:10).";
            }
        }

        if (options.Settings.TryGetValue(ConsumerCacheSizeKey, out var cache)
            && (!int.TryParse(cache, NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) || size < 1))
        {
            yield return $"{prefix}:Settings:{ConsumerCacheSizeKey} '{cache}' is not a positive integer.";
        }

        if (options.Settings.TryGetValue(ReceivesPerQueueKey, out var receives)
            && (!int.TryParse(receives, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) || count < 1 || count > 16))
        {
            yield return $"{prefix}:Settings:{ReceivesPerQueueKey} '{receives}' is not an integer from 1 to 16.";
        }

        if (options.Settings.TryGetValue(KeepInvisibleWhileHandlingKey, out var keep) && !bool.TryParse(keep, out _))
        {
            yield return $"{prefix}:Settings:{KeepInvisibleWhileHandlingKey} '{keep}' is not true or false.";
        }
    }

    private static TimeSpan Time(ClusterOptions options, string key, TimeSpan fallback) =>
        options.Settings.TryGetValue(key, out var value) ? TimeSpan.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
