using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Transport;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>What our producer does with the 5.x topic facts a genuine proxy reports: missing topics and topic message types.</summary>
public sealed class TopicTypeOverWireTests
{
    [Fact]
    public async Task Send_to_a_topic_the_proxy_does_not_have_fails_with_TOPIC_NOT_FOUND_and_is_not_retried()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker);

        var missing = GrpcWire.Unique("missing");
        var ex = await Assert.ThrowsAsync<ClusterTransportException>(async () =>
            await transport.Producer.SendAsync(new OutgoingMessage(missing, "x"u8.ToArray())));

        Assert.Equal("TOPIC_NOT_FOUND", ex.StatusCode);
        Assert.Equal(missing, ex.MissingTopic);
        Assert.False(ex.IsTransient);
        Assert.Equal(0, broker.Broker.Counters.Stored);
    }

    [Fact]
    public async Task The_backlog_of_a_topic_the_proxy_does_not_have_names_the_missing_topic()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker);
        var missing = GrpcWire.Unique("missing");

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(async () =>
            await transport.BacklogProbe.GetBacklogAsync(GrpcWire.Unique("G"), missing));

        Assert.Equal(missing, ex.MissingTopic);
    }

    [Fact]
    public async Task FIFO_message_to_a_NORMAL_topic_is_refused_as_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE_before_it_is_sent()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker);
        var normal = GrpcWire.Topic(broker, "normal");
        var fifo = GrpcWire.Topic(broker, "fifo", type: GrpcLoopbackTopicType.Fifo);

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(async () =>
            await transport.Producer.SendAsync(new OutgoingMessage(normal, "x"u8.ToArray()) { MessageGroup = "customer-7" }));
        await transport.Producer.SendAsync(new OutgoingMessage(fifo, "x"u8.ToArray()) { MessageGroup = "customer-7" });

        Assert.Equal("MESSAGE_PROPERTY_CONFLICT_WITH_TYPE", ex.StatusCode);
        Assert.False(ex.IsTransient);
        Assert.Equal(1, broker.Broker.Counters.Stored);
        Assert.Equal(1, broker.GetCallCount(GrpcLoopbackRpc.SendMessage));
    }
}
