namespace DualCluster.Transport;

/// <summary>
/// One connection to one RocketMQ cluster (Old or New): the transport SPI. The core creates one per
/// cluster role and host through an <see cref="IClusterTransportFactory"/>, and knows no wire protocol.
/// </summary>
/// <remarks>
/// Implementations must be thread-safe. Every implementation is expected to pass the shared transport
/// conformance suite (send, receive, ack, redelivery after failure, backlog, stop/start).
/// Protocol differences live behind this interface: a 5.x transport acks with receipt handles and
/// negatively acks by changing the invisible duration; a 4.x transport commits the lowest in-flight
/// offset and sends failed messages back to the broker's retry topic.
/// </remarks>
public interface IClusterTransport : IAsyncDisposable
{
    /// <summary>Which cluster this transport talks to.</summary>
    ClusterRole Role { get; }

    /// <summary>The producer side. Connections are made lazily on first use.</summary>
    IClusterProducer Producer { get; }

    /// <summary>
    /// Creates a consumer for one subscription. It does not fetch until <see cref="IClusterConsumer.StartAsync"/>.
    /// </summary>
    /// <param name="subscription">Group, topic, filter and limits.</param>
    /// <param name="handler">Called once per delivered message; its outcome decides ack or redelivery.</param>
    IClusterConsumer CreateConsumer(ConsumerSubscription subscription, ClusterMessageHandler handler);

    /// <summary>Reads how much a group still has to consume on this cluster (used by the drain check).</summary>
    IBacklogProbe BacklogProbe { get; }

    /// <summary>
    /// What the cluster itself knows of the consumer groups of a topic, or null when the protocol cannot tell. The fleet
    /// guard uses it to see groups outside this fleet (other applications' consumers).
    /// </summary>
    IConsumerGroupProbe? GroupProbe => null;
}
