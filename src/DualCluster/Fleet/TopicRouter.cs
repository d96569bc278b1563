using System.Collections.Concurrent;
using DualCluster.Routing;
using DualCluster.Telemetry;
using Microsoft.Extensions.Logging;

namespace DualCluster.Fleet;

/// <summary>
/// The producer side of the guard on facts, per topic: a topic goes to New only once every group that consumes it (from
/// the registry, Old's broker facts and <c>Guard:RequiredGroups</c>) holds a position on New. Until then its sends stay on
/// Old, and the status, a log line and a metric name the group it waits for. While the facts cannot be had, the topic
/// keeps its last proven target. Decisions are cached per facts reading, so a send costs one dictionary lookup.
/// </summary>
internal sealed class TopicRouter(FleetMonitor monitor, DualClusterMetrics metrics, ILogger logger)
{
    private readonly ConcurrentDictionary<string, Decision> _decisions = new(StringComparer.Ordinal);

    /// <summary>The cluster this node sends <paramref name="topic"/> to under <paramref name="snapshot"/>.</summary>
    public ValueTask<ClusterRole> ResolveAsync(string topic, RoutingSnapshot snapshot, CancellationToken cancellationToken)
    {
        var planned = snapshot.Plan.ProducerTarget;
        if (!monitor.Active || !snapshot.Options.SafeOrderGuard || snapshot.Plan.Mirror || planned == ClusterRole.Old)
        {
            // Old is where every group already reads (the drain rule keeps it so while anyone writes it); a mirrored send
            // also reaches Old. Neither needs a proof.
            if (_decisions.TryGetValue(topic, out var stale) && stale.Target != planned)
            {
                Record(topic, new Decision(planned, null, monitor.Current.Version, snapshot.Version), stale);
            }

            return ValueTask.FromResult(planned);
        }

        var facts = monitor.Current;
        if (_decisions.TryGetValue(topic, out var cached) && cached.FactsVersion == facts.Version && cached.RoutingVersion == snapshot.Version
            && facts.BrokerFacts.ContainsKey(topic))
        {
            if (cached.Waiting is not null)
            {
                metrics.HeldSends.Add(1, DualClusterMetrics.Topic(topic));
            }

            return ValueTask.FromResult(cached.Target);
        }

        return DecideAsync(topic, snapshot, cancellationToken);
    }

    /// <summary>Whether the facts prove that every group of <paramref name="topic"/> holds a position on New (for failover).</summary>
    public bool IsProvenOnNew(string topic, RoutingSnapshot snapshot) =>
        monitor.Current.GroupsNotOnNew(topic, snapshot.Options, out _) is { Count: 0 };

    /// <summary>What each held topic waits for, for the status.</summary>
    public IReadOnlyList<string> Waits =>
        [.. _decisions.Where(d => d.Value.Waiting is not null).OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"topic '{d.Key}' stays on {d.Value.Target}: {d.Value.Waiting}")];

    private async ValueTask<ClusterRole> DecideAsync(string topic, RoutingSnapshot snapshot, CancellationToken cancellationToken)
    {
        var facts = await monitor.EnsureTopicAsync(topic, cancellationToken).ConfigureAwait(false);
        _decisions.TryGetValue(topic, out var last);

        // Never proven: the configuration's side that has readers (the offline gate approved it).
        var fallback = last?.Target ?? (snapshot.Fleet.SomeReadOld ? ClusterRole.Old : ClusterRole.New);
        var missing = facts.GroupsNotOnNew(topic, snapshot.Options, out var unknown);
        var next = missing switch
        {
            null when !facts.Available => new Decision(fallback, $"fleet facts unavailable: {unknown}; keeping the last proven target", facts.Version, snapshot.Version),
            null => new Decision(fallback, $"{unknown}; keeping the last proven target", facts.Version, snapshot.Version),
            { Count: 0 } => new Decision(ClusterRole.New, null, facts.Version, snapshot.Version),
            _ => new Decision(ClusterRole.Old, $"waiting for consumer group(s) {string.Join(", ", missing.Select(g => $"'{g}'"))} to hold a position on New (a node of the group must read New first)", facts.Version, snapshot.Version),
        };

        Record(topic, next, last);
        if (next.Waiting is not null)
        {
            metrics.HeldSends.Add(1, DualClusterMetrics.Topic(topic));
        }

        return next.Target;
    }

    private void Record(string topic, Decision next, Decision? last)
    {
        _decisions[topic] = next;
        if (last is not null && last.Target == next.Target && last.Waiting == next.Waiting)
        {
            return;
        }

        if (next.Waiting is not null)
        {
            FleetLog.Held(logger, topic, next.Target, next.Waiting);
        }
        else if (last is not null || next.Target == ClusterRole.New)
        {
            FleetLog.Moved(logger, topic, next.Target, next.Target == ClusterRole.New ? "every consumer group of the topic holds a position on New" : "the routing targets Old");
        }
    }

    private sealed record Decision(ClusterRole Target, string? Waiting, long FactsVersion, long RoutingVersion);
}
