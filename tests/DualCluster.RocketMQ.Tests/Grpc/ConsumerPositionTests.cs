using DualCluster.RocketMQ.Grpc;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Transport;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>
/// <see cref="IClusterConsumer.IsPositioned"/> over HTTP/2 against the loopback proxy: a 5.x group's position on a queue
/// is initialized by its first pop (PopMessageProcessor.getPopOffset commits it), which the client knows once the first
/// receive on every assigned queue is answered.
/// </summary>
public sealed class ConsumerPositionTests
{
    [Fact]
    public async Task A_consumer_is_positioned_once_a_receive_on_its_assigned_queue_is_answered_and_stays_so_across_stop_and_restart()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker, configure: c => c.Settings["LongPollingTimeout"] = "00:00:05");
        var topic = GrpcWire.Topic(broker, "pos", queues: 2);
        await using var consumer = (GrpcPushConsumer)transport.CreateConsumer(
            new ConsumerSubscription(GrpcWire.Unique("G"), topic), (_, _) => ValueTask.FromResult(ConsumeOutcome.Ack));
        Assert.False(consumer.IsPositioned);

        // Assigned, but every receive is refused: no pop happened, so no position yet.
        broker.Faults.FailNext(GrpcLoopbackRpc.ReceiveMessage, int.MaxValue);
        await consumer.StartAsync();
        await GrpcWire.WaitUntilAsync(() => broker.GetCallCount(GrpcLoopbackRpc.ReceiveMessage) >= 2, "the refused receives were made");
        Assert.True(consumer.Current!.ActiveReceiveLoops > 0);
        Assert.False(consumer.IsPositioned);

        // Receives go through: the idle long poll ends with MESSAGE_NOT_FOUND, an answer.
        broker.Faults.Reset();
        await GrpcWire.WaitUntilAsync(() => consumer.IsPositioned, "a receive on the assigned queue is answered");

        await consumer.StopAsync();
        Assert.True(consumer.IsPositioned);
        await consumer.StartAsync();
        Assert.True(consumer.IsPositioned);
        await consumer.StopAsync();
    }

    [Fact]
    public async Task A_message_answering_the_first_receive_positions_the_consumer()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker);
        var topic = GrpcWire.Topic(broker, "pos", queues: 1);
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var consumer = transport.CreateConsumer(new ConsumerSubscription(GrpcWire.Unique("G"), topic), (_, _) =>
        {
            received.TrySetResult();
            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });

        await consumer.StartAsync();
        await transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        await received.Task.WaitAsync(GrpcWire.SafetyTimeout);

        Assert.True(consumer.IsPositioned);
        await consumer.StopAsync();
    }
}
