using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using DualCluster.Transport;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>
/// Our push consumer against the loopback's genuine consumer semantics: after ChangeInvisibleDuration only the
/// handle it returned settles the message (an ack with the old one answers OK and settles nothing), and the
/// server's settings decide the long-polling time.
/// </summary>
public sealed class InvisibilityOverWireTests
{
    [Fact]
    public async Task Message_kept_invisible_while_its_handler_runs_is_acked_with_the_new_handle_and_not_redelivered()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcWire.StartBrokerAsync(broker: new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        await using var transport = GrpcWire.Transport(broker, time: time, configure: c => c.Settings["KeepInvisibleWhileHandling"] = "true");
        var (topic, group) = (GrpcWire.Topic(broker, "slow"), GrpcWire.Unique("g"));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic) { InvisibleDuration = TimeSpan.FromSeconds(10) }, async (_, _) =>
        {
            Interlocked.Increment(ref calls);
            started.TrySetResult();
            await release.Task;
            return ConsumeOutcome.Ack;
        });
        await consumer.StartAsync();
        broker.Broker.Send(new OutgoingMessage(topic, "slow job"u8.ToArray()));
        await started.Task.WaitAsync(GrpcWire.SafetyTimeout);

        // Two thirds of the invisible duration pass while the handler runs: the consumer extends the invisibility.
        time.Advance(TimeSpan.FromSeconds(7));
        await GrpcWire.WaitUntilAsync(() => broker.GetCallCount(GrpcLoopbackRpc.ChangeInvisibleDuration) >= 1, "the invisibility is changed");
        release.SetResult();
        await GrpcWire.WaitUntilAsync(() => broker.Broker.Counters.Acked >= 1 || broker.GetCallCount(GrpcLoopbackRpc.AckMessage) >= 1, "the message is acked");
        time.Advance(TimeSpan.FromSeconds(20)); // past the first deadline and the changed one
        var backlog = broker.Broker.GetBacklog(group, topic);
        await consumer.StopAsync();

        Assert.Equal(1, broker.Broker.Counters.Acked);
        Assert.Equal((0L, 0L), (backlog.InFlight!.Value, backlog.Retry!.Value));
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Without_KeepInvisibleWhileHandling_a_handler_slower_than_the_invisible_duration_sees_its_message_come_back()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcWire.StartBrokerAsync(broker: new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        await using var transport = GrpcWire.Transport(broker, time: time);
        var (topic, group) = (GrpcWire.Topic(broker, "slow"), GrpcWire.Unique("g"));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic) { InvisibleDuration = TimeSpan.FromSeconds(10) }, async (_, ct) =>
        {
            started.TrySetResult();
            await release.Task.WaitAsync(ct);
            return ConsumeOutcome.Ack;
        });
        await consumer.StartAsync();
        broker.Broker.Send(new OutgoingMessage(topic, "slow job"u8.ToArray()));
        await started.Task.WaitAsync(GrpcWire.SafetyTimeout);

        time.Advance(TimeSpan.FromSeconds(11));
        // The message came back: it waits to be retried, or the receive already long-polling took it again.
        var backlog = broker.Broker.GetBacklog(group, topic);
        var redelivered = broker.Broker.Counters.Redelivered;
        // Read before the stop, which hands back what was fetched and not handled (by ChangeInvisibleDuration).
        var changed = broker.GetCallCount(GrpcLoopbackRpc.ChangeInvisibleDuration);
        release.SetResult();
        await consumer.StopAsync();

        Assert.Equal(0, changed);
        Assert.True(backlog.Retry == 1 || redelivered == 1, $"retry {backlog.Retry}, redelivered {redelivered}");
    }

    [Fact]
    public async Task Push_consumer_long_polls_for_the_time_the_servers_settings_say_not_its_own()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker, configure: c => c.Settings["LongPollingTimeout"] = "00:00:07");
        var (topic, group) = (GrpcWire.Topic(broker, "poll"), GrpcWire.Unique("g"));
        var granted = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Service.LongPollStarted += poll => granted.TrySetResult(poll);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic), (_, _) => new(ConsumeOutcome.Ack));

        await consumer.StartAsync();
        var poll = await granted.Task.WaitAsync(GrpcWire.SafetyTimeout);
        await consumer.StopAsync();

        Assert.Equal(TimeSpan.FromSeconds(20), poll); // the proxy's long-polling time replaces the 7 s asked for
    }
}
