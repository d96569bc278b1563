using DualCluster.Routing;

namespace DualCluster.Fleet;

/// <summary>
/// One reading of the facts the guard decides on: the live members of the registry and, per topic this node sends, what
/// the clusters themselves report about its consumer groups. Immutable; <see cref="Version"/> grows with each reading.
/// </summary>
internal sealed class FleetFacts
{
    public static readonly FleetFacts None = new(0, null, [], new Dictionary<string, TopicBrokerFacts>(StringComparer.Ordinal), null);

    public FleetFacts(long version, DateTimeOffset? readAt, IReadOnlyList<FleetMember> members, IReadOnlyDictionary<string, TopicBrokerFacts> brokerFacts, string? error)
    {
        Version = version;
        ReadAt = readAt;
        Members = members;
        BrokerFacts = brokerFacts;
        Error = error;
    }

    public long Version { get; }

    /// <summary>When the registry was last read successfully (null: never).</summary>
    public DateTimeOffset? ReadAt { get; }

    /// <summary>The live members at the last successful reading.</summary>
    public IReadOnlyList<FleetMember> Members { get; }

    public IReadOnlyDictionary<string, TopicBrokerFacts> BrokerFacts { get; }

    /// <summary>Why the latest reading failed; null when it succeeded. While set, nothing moves.</summary>
    public string? Error { get; }

    /// <summary>True when the latest reading succeeded: the guard may act on these facts.</summary>
    public bool Available => Error is null && ReadAt is not null;

    /// <summary>
    /// The groups known to consume <paramref name="topic"/>: from the registry, from the Old cluster's broker facts, and
    /// from <c>Guard:RequiredGroups</c>. Null when the broker facts of the topic could not be read (nothing may move).
    /// </summary>
    public SortedSet<string>? GroupsOf(string topic, DualClusterOptions options, out string? unknownBecause)
    {
        var groups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var member in Members)
        {
            foreach (var consumer in member.Consumers)
            {
                if (consumer.Topic == topic)
                {
                    groups.Add(consumer.Group);
                }
            }
        }

        if (options.Guard.RequiredGroups.TryGetValue(topic, out var required))
        {
            groups.UnionWith(required);
        }

        unknownBecause = null;
        if (BrokerFacts.TryGetValue(topic, out var broker))
        {
            if (broker.Error is { } error)
            {
                unknownBecause = error;
                return null;
            }

            groups.UnionWith(broker.OldGroups);
        }

        return groups;
    }

    /// <summary>
    /// Whether <paramref name="group"/> holds a position for <paramref name="topic"/> on <paramref name="cluster"/>: a live
    /// member of the group says its transport proved it, or the cluster itself reports the group's offsets there.
    /// </summary>
    public bool IsPositioned(string group, string topic, ClusterRole cluster) =>
        MembersProve(Members, group, topic, cluster)
        || (cluster == ClusterRole.New && BrokerFacts.TryGetValue(topic, out var broker) && broker.PositionedOnNew.Contains(group));

    /// <summary>Whether a live member's transport proved that <paramref name="group"/> holds a position for <paramref name="topic"/> on <paramref name="cluster"/>.</summary>
    public static bool MembersProve(IReadOnlyList<FleetMember> members, string group, string topic, ClusterRole cluster) =>
        members.Any(m => m.Consumers.Any(c => c.Group == group && c.Topic == topic && c.Positioned.Contains(cluster)));

    /// <summary>
    /// The groups of <paramref name="topic"/> that hold no position on New yet (empty: the topic may go there), or null
    /// when the facts cannot tell (<paramref name="unknownBecause"/> says why).
    /// </summary>
    public List<string>? GroupsNotOnNew(string topic, DualClusterOptions options, out string? unknownBecause)
    {
        if (!Available)
        {
            unknownBecause = Error ?? "the registry was not read yet";
            return null;
        }

        return GroupsOf(topic, options, out unknownBecause)?.Where(g => !IsPositioned(g, topic, ClusterRole.New)).ToList();
    }

    /// <summary>
    /// Whether a live node other than <paramref name="self"/> reads <paramref name="cluster"/> for the group and stays there:
    /// it reads it now, its own routing targets it, and so does the routing this node applies (so two nodes leaving in the
    /// same reload never count on each other).
    /// </summary>
    public bool OthersStayOn(string group, string topic, ClusterRole cluster, string self, DualClusterOptions options) =>
        Members.Any(m => m.NodeId != self
            && m.Consumers.Any(c => c.Group == group && c.Topic == topic && c.Reading.Contains(cluster) && c.Targets.Contains(cluster))
            && RoutingPlan.For(m.NodeId, options).ConsumerTargets.Contains(cluster));

    /// <summary>The live nodes that sent <paramref name="topic"/> to <paramref name="cluster"/> within their write window.</summary>
    public IReadOnlyList<string> WritersOf(string topic, ClusterRole cluster) =>
        [.. Members.Where(m => m.Wrote(topic, cluster)).Select(m => m.NodeId)];
}

/// <summary>What the clusters report about one topic's consumer groups.</summary>
/// <param name="OldGroups">Groups Old knows to consume the topic.</param>
/// <param name="PositionedOnNew">Groups New holds a position for.</param>
/// <param name="Error">Why the clusters could not be asked; null when they answered (or cannot tell by protocol).</param>
internal sealed record TopicBrokerFacts(IReadOnlyCollection<string> OldGroups, IReadOnlySet<string> PositionedOnNew, string? Error);
