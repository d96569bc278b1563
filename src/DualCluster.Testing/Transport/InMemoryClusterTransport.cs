using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>
/// The transport SPI over one <see cref="InMemoryBroker"/>: what the in-memory tests, the samples and the
/// migration walkthrough run on, and the reference implementation of the transport conformance suite.
/// Consumers use the broker's pop model (receive with an invisible duration, ack or change the invisible
/// duration). Disposing the transport stops its consumers; it never disposes the broker (a test owns that).
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed class InMemoryClusterTransport : IClusterTransport
{
    private readonly InMemoryTransportOptions _options;
    private readonly List<InMemoryClusterConsumer> _consumers = [];
    private bool _disposed;

    /// <summary>Creates a transport for the cluster <paramref name="role"/> served by <paramref name="broker"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public InMemoryClusterTransport(InMemoryBroker broker, ClusterRole role, InMemoryTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(broker);
        _options = options ?? new InMemoryTransportOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ReceiveBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.PollTimeout, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(_options.RetryBackoff);
        Broker = broker;
        Role = role;
        Producer = new InMemoryClusterProducer(broker, role, _options.MaxBodySize);
        BacklogProbe = new InMemoryBacklogProbe(broker, role);
        GroupProbe = new InMemoryGroupProbe(broker, role);
    }

    /// <summary>The broker this transport talks to.</summary>
    public InMemoryBroker Broker { get; }

    /// <inheritdoc/>
    public ClusterRole Role { get; }

    /// <inheritdoc/>
    public IClusterProducer Producer { get; }

    /// <inheritdoc/>
    public IBacklogProbe BacklogProbe { get; }

    /// <inheritdoc/>
    public IConsumerGroupProbe GroupProbe { get; }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The transport was disposed.</exception>
    public IClusterConsumer CreateConsumer(ConsumerSubscription subscription, ClusterMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThan(subscription.MaxConcurrency, 1);
        lock (_consumers)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var consumer = new InMemoryClusterConsumer(Broker, Role, subscription, handler, _options);
            _consumers.Add(consumer);
            return consumer;
        }
    }

    /// <summary>Stops every consumer this transport created (gracefully, up to <see cref="InMemoryTransportOptions.DisposeTimeout"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        InMemoryClusterConsumer[] consumers;
        lock (_consumers)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            consumers = [.. _consumers];
        }

        foreach (var consumer in consumers)
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static ClusterTransportException Map(ClusterRole role, InMemoryBrokerException e, string? topic = null) =>
        new(role, e.StatusCode, e.IsTransient, e.Message, e) { MissingTopic = e.StatusCode == BrokerStatusCodes.TopicNotFound ? topic : null };
}
