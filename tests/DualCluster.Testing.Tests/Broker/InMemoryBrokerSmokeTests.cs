using System.Text;
using DualCluster.Testing;
using DualCluster.Transport;

namespace DualCluster.Testing.Tests.Broker;

public sealed class InMemoryBrokerSmokeTests
{
    [Fact]
    public async Task Message_sent_through_the_transport_reaches_the_handler()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "smoke" });
        await using var transport = new InMemoryClusterTransport(broker, ClusterRole.New);
        var received = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription("g1", "t1"), (m, _) =>
        {
            received.TrySetResult(m);
            return new(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();
        await transport.Producer.SendAsync(new OutgoingMessage("t1", Encoding.UTF8.GetBytes("hello")) { IdempotencyKey = "k1" });
        var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await consumer.StopAsync();
        Assert.Equal("hello", Encoding.UTF8.GetString(message.Body.Span));
        Assert.Equal("k1", message.IdempotencyKey);
        Assert.Equal(ClusterRole.New, message.Cluster);
        Assert.True(broker.GetBacklog("g1", "t1").IsDrained);
    }
}
