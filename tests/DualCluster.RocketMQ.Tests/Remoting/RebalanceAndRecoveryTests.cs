using System.Collections.Concurrent;
using System.Text;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Transport;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>Group membership, allocation and recovery over TCP against the loopback broker.</summary>
public sealed class RebalanceAndRecoveryTests
{
    [Fact]
    public async Task Two_consumers_split_queues_as_the_allocation_table_says_and_one_leaving_loses_nothing()
    {
        await using var servers = await StartLoopbackAsync();
        await using var transportA = NewTransport(servers.NameServerAddress);
        await using var transportB = NewTransport(servers.NameServerAddress);
        var topic = Unique("T");
        var group = Unique("G");
        var received = new ConcurrentDictionary<string, int>();
        var receivedByB = 0;
        ClusterMessageHandler Handler(bool isB) => (m, _) =>
        {
            received.AddOrUpdate(m.MessageId, 1, (_, n) => n + 1);
            if (isB)
            {
                Interlocked.Increment(ref receivedByB);
            }

            return ValueTask.FromResult(ConsumeOutcome.Ack);
        };

        var a = (RemotingConsumer)transportA.CreateConsumer(new ConsumerSubscription(group, topic), Handler(isB: false));
        var b = (RemotingConsumer)transportB.CreateConsumer(new ConsumerSubscription(group, topic), Handler(isB: true));
        await a.StartAsync();
        await WaitUntilAsync(() => a.OwnedQueues(topic).Count == 4, "A owns all four queues");

        await b.StartAsync();
        var ids = new[] { a.ClientId, b.ClientId }.Order(StringComparer.Ordinal).ToArray();
        var first = ids[0] == a.ClientId ? a : b;
        var second = first == a ? b : a;
        await WaitUntilAsync(
            () => first.OwnedQueues(topic).Select(q => q.QueueId).SequenceEqual([0, 1]) && second.OwnedQueues(topic).Select(q => q.QueueId).SequenceEqual([2, 3]),
            "the ordinally first client owns queues 0–1 and the second 2–3");

        var sent = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            sent.Add((await transportA.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"m{i}")))).MessageId);
        }

        // B leaves while its queues may still hold unconsumed messages and more keep arriving.
        await WaitUntilAsync(() => Volatile.Read(ref receivedByB) > 0, "B consumes from its queues");
        await b.StopAsync();
        for (var i = 40; i < 60; i++)
        {
            sent.Add((await transportA.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"m{i}")))).MessageId);
        }

        await WaitUntilAsync(() => a.OwnedQueues(topic).Count == 4, "A took every queue back after B left");
        for (var i = 60; i < 80; i++)
        {
            sent.Add((await transportA.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"m{i}")))).MessageId);
        }

        await WaitUntilAsync(() => sent.All(received.ContainsKey), "every message arrived after the rebalance");
        await a.StopAsync();
        Assert.Equal(80, sent.Distinct().Count());
        Assert.Empty(a.OwnedQueues(topic));
    }

    [Fact]
    public async Task Producer_and_consumer_recover_after_a_broker_restart()
    {
        await using var servers = await StartLoopbackAsync();
        await using var transport = NewTransport(servers.NameServerAddress);
        var topic = Unique("T");
        var received = new ConcurrentDictionary<string, byte>();
        var consumer = transport.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), (m, _) =>
        {
            received[m.MessageId] = 0;
            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();
        var before = await transport.Producer.SendAsync(new OutgoingMessage(topic, "before"u8.ToArray()));
        await WaitUntilAsync(() => received.ContainsKey(before.MessageId), "the first message arrived");

        await servers.StopBrokerAsync();
        var down = await Assert.ThrowsAsync<ClusterTransportException>(() => transport.Producer.SendAsync(new OutgoingMessage(topic, "down"u8.ToArray())).AsTask());
        Assert.True(down.IsTransient);
        await servers.StartBrokerAsync();

        SendReceipt after = default;
        await WaitUntilAsync(
            () =>
            {
                try
                {
                    after = transport.Producer.SendAsync(new OutgoingMessage(topic, "after"u8.ToArray())).AsTask().GetAwaiter().GetResult();
                    return true;
                }
                catch (ClusterTransportException ex) when (ex.IsTransient)
                {
                    return false;
                }
            },
            "a send succeeds after the restart");
        await WaitUntilAsync(() => received.ContainsKey(after.MessageId), "the consumer receives after the restart");
        await consumer.StopAsync();
    }
}
