using DualCluster.Routing;
using DualCluster.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DualCluster.Configuration;

/// <summary>
/// Validates <see cref="DualClusterOptions"/>: value ranges, override values, cluster settings (through
/// the registered transport factories) and, unless switched off, the <see cref="SafeOrderGuard"/>.
/// Runs at start (<c>ValidateOnStart</c>) and on every reload.
/// </summary>
internal sealed class DualClusterOptionsValidator(
    IEnumerable<IClusterTransportFactory> factories,
    TransportOverrides transportOverrides,
    ILoggerFactory? loggerFactory = null,
    DualClusterConfigurationCheck? configurationCheck = null)
    : IValidateOptions<DualClusterOptions>
{
    private readonly IClusterTransportFactory[] _factories = [.. factories];
    private readonly ILogger _logger = loggerFactory?.CreateLogger("DualCluster.Configuration") ?? (ILogger)NullLogger.Instance;

    /// <summary>
    /// The options name validated by the options system (<c>ValidateOnStart</c>). It is bound to the same
    /// configuration but has no change token, so an invalid reload never makes <c>IOptionsMonitor</c>
    /// throw inside the configuration's reload callback; reloads are validated by the routing state.
    /// </summary>
    public const string StartupCheckName = "DualCluster.StartupCheck";

    public ValidateOptionsResult Validate(string? name, DualClusterOptions options)
    {
        if (name != StartupCheckName)
        {
            return ValidateOptionsResult.Skip;
        }

        LogWarnings(options);
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// Logs what does not stop the node but is probably not what the operator meant (event 1008): a missing section, an
    /// unknown key, cluster settings that a transport supplied in code makes unused and unchecked. At start and on reload.
    /// </summary>
    public void LogWarnings(DualClusterOptions options)
    {
        foreach (var warning in Warnings(options))
        {
            RoutingLog.ConfigurationWarning(_logger, warning);
        }
    }

    /// <summary>The warnings <see cref="LogWarnings"/> logs.</summary>
    public List<string> Warnings(DualClusterOptions options)
    {
        var warnings = configurationCheck?.Warnings() ?? [];
        foreach (var role in new[] { ClusterRole.Old, ClusterRole.New })
        {
            var cluster = options.Clusters[role];
            var protocol = cluster?.Protocol?.Trim();
            if (!transportOverrides.Has(role) || string.IsNullOrEmpty(protocol) || FindFactory(protocol) is not null
                || string.Equals(protocol, "InMemory", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            warnings.Add($"DualCluster:Clusters:{role} (Protocol '{protocol}') is neither used nor checked here: a transport supplied in code "
                + $"(UseInMemoryBrokers or UseTransport) serves {role}, and no registered transport serves '{protocol}'. In production these "
                + "settings must pass the transport's checks; register it in the test too (for example .UseRocketMQ()) and they are "
                + "checked exactly as in production.");
        }

        return warnings;
    }

    private IClusterTransportFactory? FindFactory(string protocol) =>
        Array.Find(_factories, f => string.Equals(f.Protocol, protocol.Trim(), StringComparison.OrdinalIgnoreCase));

    public List<string> Collect(DualClusterOptions options)
    {
        var errors = new List<string>();
        const string P = "DualCluster:";

        CheckWeight(errors, options.Producer.NewWeight, P + "Producer:NewWeight");
        CheckWeight(errors, options.Consumer.NewWeight, P + "Consumer:NewWeight");
        if (!RoutingValues.TryParseFailover(options.Producer.Failover, out _))
        {
            errors.Add($"{P}Producer:Failover is '{options.Producer.Failover}': use 'None' or 'OtherCluster'.");
        }

        foreach (var (node, o) in options.Overrides)
        {
            if (string.IsNullOrWhiteSpace(node))
            {
                errors.Add($"{P}Overrides has an entry with an empty node id: name the node it applies to.");
            }

            if (o is null)
            {
                continue;
            }

            if (o.Producer is not null && !RoutingValues.TryParseRole(o.Producer, out _))
            {
                errors.Add($"{P}Overrides:{node}:Producer is '{o.Producer}': use 'Old' or 'New' (or remove the key).");
            }

            if (o.Consumer is not null && !RoutingValues.TryParseSet(o.Consumer, out _))
            {
                errors.Add($"{P}Overrides:{node}:Consumer is '{o.Consumer}': use 'Old', 'New' or 'Both' (or remove the key).");
            }
        }

        CheckPositive(errors, options.Idempotency.Lease, P + "Idempotency:Lease");
        CheckPositive(errors, options.Idempotency.Retention, P + "Idempotency:Retention");
        if (options.Idempotency.Retention <= options.Idempotency.Lease && options.Idempotency.Lease > TimeSpan.Zero)
        {
            errors.Add($"{P}Idempotency:Retention ({options.Idempotency.Retention}) must be longer than Idempotency:Lease ({options.Idempotency.Lease}); retention should exceed the longest redelivery window (days, not minutes).");
        }

        if (options.Idempotency.StoreOutageHold < TimeSpan.Zero)
        {
            errors.Add($"{P}Idempotency:StoreOutageHold must not be negative; use 00:00:00 to hand a message back at once when the store is unreachable.");
        }

        if (options.Idempotency.HeldElsewhereRetryDelay < TimeSpan.Zero)
        {
            errors.Add($"{P}Idempotency:HeldElsewhereRetryDelay must not be negative.");
        }

        var r = options.Resilience;
        CheckPositive(errors, r.AttemptTimeout, P + "Resilience:AttemptTimeout");
        if (r.MaxRetryAttempts is < 0 or > 50)
        {
            errors.Add($"{P}Resilience:MaxRetryAttempts is {r.MaxRetryAttempts}: use 0–50.");
        }

        if (r.RetryBaseDelay < TimeSpan.Zero)
        {
            errors.Add($"{P}Resilience:RetryBaseDelay must not be negative.");
        }

        if (r.BreakerFailureRatio is <= 0 or > 1)
        {
            errors.Add($"{P}Resilience:BreakerFailureRatio is {r.BreakerFailureRatio}: use a value in (0, 1].");
        }

        if (r.BreakerMinimumThroughput < 2)
        {
            errors.Add($"{P}Resilience:BreakerMinimumThroughput is {r.BreakerMinimumThroughput}: use 2 or more.");
        }

        if (r.BreakerSamplingDuration < TimeSpan.FromMilliseconds(500) || r.BreakerBreakDuration < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"{P}Resilience:BreakerSamplingDuration and BreakerBreakDuration must be at least 00:00:00.5.");
        }

        if (options.ReloadDebounce < TimeSpan.Zero)
        {
            errors.Add($"{P}ReloadDebounce must not be negative.");
        }

        CheckPositive(errors, options.Consumer.DrainCheckInterval, P + "Consumer:DrainCheckInterval");
        if (options.Consumer.DrainGracePeriod < TimeSpan.Zero)
        {
            errors.Add($"{P}Consumer:DrainGracePeriod is {options.Consumer.DrainGracePeriod}: use zero (leave at the first drained check) or a positive time span above the longest a send can take.");
        }

        CheckFleet(errors, options);
        var fleet = FleetView.Of(options);
        CheckCluster(errors, ClusterRole.Old, options.Clusters.Old, fleet.MayWriteOld || fleet.SomeReadOld);
        CheckCluster(errors, ClusterRole.New, options.Clusters.New, fleet.MayWriteNew || fleet.SomeReadNew);

        if (options.SafeOrderGuard && errors.Count == 0)
        {
            errors.AddRange(SafeOrderGuard.Check(options));
        }

        return errors;
    }

    private void CheckCluster(List<string> errors, ClusterRole role, ClusterOptions? cluster, bool used)
    {
        var key = $"DualCluster:Clusters:{role}";
        if (transportOverrides.Has(role))
        {
            // A transport supplied in code serves this role (tests). The configured section is still checked the way
            // production checks it when its protocol's transport is registered, so a test cannot pass on settings that
            // would stop the host in production; otherwise LogWarnings says it is unchecked.
            if (cluster?.Protocol is { } configured && !string.IsNullOrWhiteSpace(configured) && FindFactory(configured) is { } registered)
            {
                errors.AddRange(registered.Validate(role, cluster));
            }

            return;
        }

        if (cluster is null || string.IsNullOrWhiteSpace(cluster.Protocol))
        {
            if (used)
            {
                errors.Add($"{key}:Protocol is missing: set 'Grpc' (5.x endpoint), 'Remoting' (4.x name servers) or 'InMemory', since the routing uses the {role} cluster.");
            }

            return;
        }

        var factory = FindFactory(cluster.Protocol);
        if (factory is null)
        {
            var known = _factories.Length == 0 ? "none is registered" : "registered: " + string.Join(", ", _factories.Select(f => f.Protocol));
            errors.Add($"{key}:Protocol is '{cluster.Protocol}' but no transport serves it ({known}): add its package and call the matching Use… method on the DualCluster builder.");
            return;
        }

        if (cluster.MaxBodySize <= 0)
        {
            errors.Add($"{key}:MaxBodySize must be positive.");
        }

        CheckPositive(errors, cluster.RequestTimeout, key + ":RequestTimeout");
        errors.AddRange(factory.Validate(role, cluster));
    }

    private static void CheckFleet(List<string> errors, DualClusterOptions options)
    {
        const string P = "DualCluster:";
        var f = options.Fleet;
        CheckPositive(errors, f.HeartbeatInterval, P + "Fleet:HeartbeatInterval");
        CheckPositive(errors, f.WriteWindow, P + "Fleet:WriteWindow");
        if (f.HeartbeatInterval > TimeSpan.Zero && f.TimeToLive < 2 * f.HeartbeatInterval)
        {
            errors.Add($"{P}Fleet:TimeToLive ({f.TimeToLive}) must be at least twice Fleet:HeartbeatInterval ({f.HeartbeatInterval}), "
                + "or one late heartbeat makes a live node count as gone: raise TimeToLive or shorten HeartbeatInterval.");
        }

        foreach (var (topic, groups) in options.Guard.RequiredGroups)
        {
            if (groups is null || groups.Count == 0 || groups.Any(string.IsNullOrWhiteSpace))
            {
                errors.Add($"{P}Guard:RequiredGroups:{topic} must list consumer group names ({P}Guard:RequiredGroups:{topic}:0=group), none empty.");
            }
        }
    }

    private static void CheckWeight(List<string> errors, int weight, string key)
    {
        if (weight is < 0 or > 100)
        {
            errors.Add($"{key} is {weight}: weights are per cent of nodes, 0–100.");
        }
    }

    private static void CheckPositive(List<string> errors, TimeSpan value, string key)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} is {value}: it must be positive.");
        }
    }
}
