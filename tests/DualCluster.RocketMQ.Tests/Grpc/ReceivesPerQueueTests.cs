using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Transport;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>A push consumer keeps more than one receive outstanding per queue, so it fetches ahead of its handlers (issue 13).</summary>
public sealed class ReceivesPerQueueTests
{
    [Theory]
    [InlineData(null, 2)]
    [InlineData("3", 3)]
    public async Task An_idle_consumer_keeps_the_configured_receives_outstanding_on_its_one_queue(string? setting, int expected)
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker, configure: c =>
        {
            if (setting is not null)
            {
                c.Settings["ReceivesPerQueue"] = setting;
            }
        });
        var topic = GrpcWire.Topic(broker, "ahead", queues: 1);
        await using var consumer = transport.CreateConsumer(new ConsumerSubscription(GrpcWire.Unique("G"), topic), (_, _) => ValueTask.FromResult(ConsumeOutcome.Ack));

        await consumer.StartAsync();

        // The proxy holds each long poll for 20 s, so one receiver alone could not have made a second call yet.
        await GrpcWire.WaitUntilAsync(() => broker.GetCallCount(GrpcLoopbackRpc.ReceiveMessage) >= expected, $"{expected} receives are outstanding", TimeSpan.FromSeconds(15));
        Assert.Equal(expected, broker.GetCallCount(GrpcLoopbackRpc.ReceiveMessage));
        await consumer.StopAsync();
    }

    [Fact]
    public void A_receive_count_outside_1_to_16_is_rejected_naming_the_key()
    {
        var options = new ClusterOptions { Protocol = "Grpc", Endpoint = "http://127.0.0.1:8081", Settings = { ["ReceivesPerQueue"] = "0" } };

        var problems = DualCluster.RocketMQ.Grpc.GrpcTransportOptions.Validate(ClusterRole.New, options).ToList();

        Assert.Contains(problems, p => p.Contains("Settings:ReceivesPerQueue", StringComparison.Ordinal));
    }
}
