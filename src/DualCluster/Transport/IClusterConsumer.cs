namespace DualCluster.Transport;

/// <summary>
/// Pushes the messages of one subscription on one cluster to a <see cref="ClusterMessageHandler"/>,
/// at most <see cref="ConsumerSubscription.MaxConcurrency"/> at a time, and settles each according to
/// the handler's <see cref="ConsumeOutcome"/>.
/// </summary>
public interface IClusterConsumer : IAsyncDisposable
{
    /// <summary>What this consumer reads.</summary>
    ConsumerSubscription Subscription { get; }

    /// <summary>
    /// True once the cluster has proven that the group holds a position for what this consumer reads, so every message
    /// sent to the topic from then on reaches the group: on 4.x, the offsets of every assigned queue were queried or
    /// committed; on 5.x, the first receive after assignment was answered; in memory, the subscription was made. The
    /// fleet guard moves producers to a cluster only once every group of the topic is positioned there. Stays true
    /// after a stop (the cluster keeps the group's position).
    /// </summary>
    bool IsPositioned { get; }

    /// <summary>Starts fetching. Completes once the consumer is registered with the cluster.</summary>
    /// <exception cref="ClusterTransportException">The cluster could not be reached.</exception>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops gracefully: stops fetching, waits for in-flight handler calls, settles (acks) what completed
    /// and hands back what was fetched but not handled, so the broker redelivers it. When
    /// <paramref name="cancellationToken"/> fires the wait ends: the handlers' tokens are cancelled and
    /// unsettled messages are left for redelivery — never acked.
    /// </summary>
    Task StopAsync(CancellationToken cancellationToken = default);
}
