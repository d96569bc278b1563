namespace DualCluster.Transport;

/// <summary>
/// Broker facts about consumer groups on one cluster: which groups consume a topic, and whether a group holds a
/// position there. These catch consumers the fleet registry cannot see, such as other applications' groups.
/// </summary>
public interface IConsumerGroupProbe
{
    /// <summary>
    /// The groups the cluster knows to consume <paramref name="topic"/> (on 4.x the brokers' QUERY_TOPIC_CONSUME_BY_WHO:
    /// groups with a live subscription or committed offsets). Empty when none.
    /// </summary>
    /// <exception cref="ClusterTransportException">The cluster could not be asked.</exception>
    ValueTask<IReadOnlyCollection<string>> GetConsumerGroupsAsync(string topic, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether the cluster holds a position of <paramref name="group"/> on every queue of <paramref name="topic"/> (on
    /// 4.x a committed offset per queue), so a message sent there now reaches the group even before it connects.
    /// </summary>
    /// <exception cref="ClusterTransportException">The cluster could not be asked.</exception>
    ValueTask<bool> HasPositionAsync(string group, string topic, CancellationToken cancellationToken = default);
}
