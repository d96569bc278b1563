namespace DualCluster.Fleet;

/// <summary>
/// One node's heartbeat record in the fleet registry: what it writes and reads right now. The guard decides on
/// these facts (which groups hold a position on a cluster, which producers still write it), not on the weights.
/// </summary>
/// <param name="NodeId">The node.</param>
/// <param name="RoutingVersion">The node's routing version when it published.</param>
/// <param name="ProducerTarget">Where its producer facade sends by default, or null when it registers no producer.</param>
/// <param name="Writes">The topics it sent to each cluster within the last write window.</param>
/// <param name="Consumers">Each consumer registration's state per cluster.</param>
public sealed record FleetMember(
    string NodeId,
    long RoutingVersion,
    ClusterRole? ProducerTarget,
    IReadOnlyList<FleetWrite> Writes,
    IReadOnlyList<FleetConsumer> Consumers)
{
    /// <summary>Whether the node wrote <paramref name="topic"/> to <paramref name="cluster"/> within the last write window.</summary>
    public bool Wrote(string topic, ClusterRole cluster) => Writes.Any(w => w.Cluster == cluster && w.Topic == topic);

    /// <summary>Prints the lists' items, not their type names.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"NodeId = {NodeId}, RoutingVersion = {RoutingVersion}, ProducerTarget = {ProducerTarget}, ")
            .Append("Writes = [").AppendJoin(", ", Writes).Append("], Consumers = [").AppendJoin(", ", Consumers).Append(']');
        return true;
    }
}

/// <summary>A topic one node sent to one cluster within the last write window.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Cluster">The cluster it was sent to.</param>
public readonly record struct FleetWrite(string Topic, ClusterRole Cluster);

/// <summary>One consumer registration of a node, per cluster.</summary>
/// <param name="Group">The consumer group.</param>
/// <param name="Topic">The topic.</param>
/// <param name="Reading">The clusters it reads now.</param>
/// <param name="Positioned">
/// The clusters on which its transport has proven that the group holds a position: on 4.x, offsets queried or committed
/// for every assigned queue; on 5.x, the first receive after assignment answered; in memory, the subscription made.
/// A group positioned on a cluster sees every message sent there from then on.
/// </param>
/// <param name="Draining">The clusters it keeps reading only to drain them before it leaves.</param>
public sealed record FleetConsumer(string Group, string Topic, ClusterSet Reading, ClusterSet Positioned, ClusterSet Draining)
{
    /// <summary>The clusters the node's routing says it reads (it may still be reading one it is leaving).</summary>
    public ClusterSet Targets { get; init; }
}
