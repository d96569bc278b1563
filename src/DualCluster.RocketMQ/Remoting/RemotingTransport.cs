using System.Collections.Concurrent;
using DualCluster.Transport;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>The RocketMQ 4.x remoting transport of one cluster: a client instance, its producer, consumers, backlog probe and consumer-group probe.</summary>
internal sealed class RemotingTransport : IClusterTransport
{
    private readonly ConcurrentDictionary<RemotingConsumer, byte> _consumers = new();

    public RemotingTransport(ClusterRole role, RemotingSettings settings, TimeProvider? time = null, ILogger? logger = null)
    {
        Role = role;
        Client = new RemotingClient(role, settings, time, logger);
        Producer = new RemotingProducer(Client);
        BacklogProbe = new RemotingBacklogProbe(Client, FindConsumer);
        GroupProbe = new RemotingGroupProbe(Client);
        if (settings.HasCredentials && logger is not null)
        {
            RemotingLog.CredentialsInPlaintext(logger, role, string.Join(';', settings.NameServers));
        }
    }

    public ClusterRole Role { get; }

    public RemotingClient Client { get; }

    public IClusterProducer Producer { get; }

    public IBacklogProbe BacklogProbe { get; }

    public IConsumerGroupProbe GroupProbe { get; }

    public IClusterConsumer CreateConsumer(ConsumerSubscription subscription, ClusterMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(handler);
        var consumer = new RemotingConsumer(Client, subscription, handler);
        _consumers.TryAdd(consumer, 0);
        return consumer;
    }

    private RemotingConsumer? FindConsumer(string wrappedGroup, string wrappedTopic) =>
        _consumers.Keys.FirstOrDefault(c => c.IsRunning && c.WrappedGroup == wrappedGroup && c.WrappedTopic == wrappedTopic);

    public async ValueTask DisposeAsync()
    {
        foreach (var consumer in _consumers.Keys)
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
        }

        await Client.DisposeAsync().ConfigureAwait(false);
    }
}
