using System.Collections.Concurrent;
using DualCluster.RocketMQ.Remoting;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Testing;
using DualCluster.Transport;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>Dead letters, backlog, namespaces and delays over TCP, checked against the in-memory broker behind the loopback.</summary>
public sealed class ConsumptionSemanticsTests
{
    [Fact]
    public async Task A_message_that_keeps_failing_ends_in_the_dead_letter_queue_after_max_attempts()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        var group = Unique("G");
        var attempts = new ConcurrentBag<int>();
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic) { MaxDeliveryAttempts = 3 }, (m, _) =>
        {
            attempts.Add(m.DeliveryAttempt);
            return ValueTask.FromResult(ConsumeOutcome.Retry());
        });
        await consumer.StartAsync();

        var receipt = await transport.Producer.SendAsync(new OutgoingMessage(topic, "poison"u8.ToArray()));
        await WaitUntilAsync(() => cluster.Broker.GetDeadLetters(group).Count == 1, "the message is dead-lettered");
        await consumer.StopAsync();

        Assert.Equal([1, 2, 3], attempts.Order());
        var dead = Assert.Single(cluster.Broker.GetDeadLetters(group));
        Assert.Equal(receipt.MessageId, dead.MessageId);
        Assert.Equal(topic, dead.OriginalTopic);
    }

    [Fact]
    public async Task Backlog_counts_exact_lag_and_reaches_zero_after_consumption()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        var group = Unique("G");
        var consumed = new ConcurrentDictionary<string, byte>();
        ClusterMessageHandler handler = (m, _) =>
        {
            consumed[m.MessageId] = 0;
            return ValueTask.FromResult(ConsumeOutcome.Ack);
        };

        // The group exists (subscribed) but nobody consumes while messages arrive.
        var first = transport.CreateConsumer(new ConsumerSubscription(group, topic), handler);
        await first.StartAsync();
        await first.StopAsync();
        for (var i = 0; i < 7; i++)
        {
            await transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        }

        var waiting = await transport.BacklogProbe.GetBacklogAsync(group, topic);
        Assert.Equal(7, waiting.Ready);
        Assert.Equal(0, waiting.Retry);
        Assert.Equal(0, waiting.InFlight); // this client holds nothing of the group
        Assert.Equal(7, waiting.Queues!.Sum(q => q.Lag));

        var second = transport.CreateConsumer(new ConsumerSubscription(group, topic), handler);
        await second.StartAsync();
        await WaitUntilAsync(() => consumed.Count == 7, "all seven consumed");
        await WaitUntilAsync(
            () => transport.BacklogProbe.GetBacklogAsync(group, topic).AsTask().GetAwaiter().GetResult() is { Ready: 0, InFlight: 0, Retry: 0 },
            "the committed offsets reach the broker");
        await second.StopAsync();

        var drained = await transport.BacklogProbe.GetBacklogAsync(group, topic);
        Assert.Equal(0, drained.Ready);
        Assert.Equal(0, drained.Delayed);
        Assert.True(drained.IsDrained, drained.ToString());
    }

    [Fact]
    public async Task A_retry_waiting_for_its_delay_keeps_the_group_from_counting_as_drained()
    {
        // Level 2 lasts 4 s here (long enough to look at), every other level 100 ms.
        TimeSpan[] levels = [.. Enumerable.Range(1, 18).Select(l => l == 2 ? TimeSpan.FromSeconds(4) : TimeSpan.FromMilliseconds(100))];
        await using var cluster = await StartLoopbackAsync(new RemotingLoopbackOptions { DelayLevels = levels });
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        var group = Unique("G");
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var redelivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic), (m, _) =>
        {
            if (m.DeliveryAttempt == 1)
            {
                failed.TrySetResult();
                return ValueTask.FromResult(ConsumeOutcome.Retry(TimeSpan.FromSeconds(5))); // → delay level 2
            }

            redelivered.TrySetResult();
            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();
        await transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        await failed.Task.WaitAsync(SafetyTimeout);

        BacklogReport? waiting = null;
        await WaitUntilAsync(
            () => (waiting = transport.BacklogProbe.GetBacklogAsync(group, topic).AsTask().GetAwaiter().GetResult()).Delayed == 1 || redelivered.Task.IsCompleted,
            "the retry copy is scheduled");
        if (!redelivered.Task.IsCompleted)
        {
            Assert.False(waiting!.IsDrained, waiting.ToString());
        }

        await redelivered.Task.WaitAsync(SafetyTimeout);
        await WaitUntilAsync(
            () => transport.BacklogProbe.GetBacklogAsync(group, topic).AsTask().GetAwaiter().GetResult().IsDrained,
            "the group drains once the retry was consumed");
        await consumer.StopAsync();
    }

    [Theory]
    [InlineData("{\n\t\"offsetTable\":{1:3,2:0,18:7}\n}")]
    [InlineData("{\"dataVersion\":{\"counter\":2},\"offsetTable\":{\"1\":3,\"2\":0,\"18\":7}}")]
    public void Schedule_progress_is_read_in_fastjson_and_standard_form(string body)
    {
        var table = RemotingBacklogProbe.ParseDelayOffsets(System.Text.Encoding.UTF8.GetBytes(body));

        Assert.Equal(new Dictionary<int, long> { [1] = 3, [2] = 0, [18] = 7 }, table);
    }

    [Fact]
    public async Task Messages_held_by_this_client_count_as_in_flight_not_ready()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        var group = Unique("G");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic) { MaxConcurrency = 2 }, async (_, _) =>
        {
            Interlocked.Increment(ref started);
            await release.Task;
            return ConsumeOutcome.Ack;
        });
        await consumer.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        }

        await WaitUntilAsync(() => Volatile.Read(ref started) == 2, "two handlers run");
        await WaitUntilAsync(
            () => transport.BacklogProbe.GetBacklogAsync(group, topic).AsTask().GetAwaiter().GetResult().InFlight == 5,
            "all five are pulled by this client");
        var report = await transport.BacklogProbe.GetBacklogAsync(group, topic);
        release.SetResult();
        await consumer.StopAsync();

        Assert.Equal(0, report.Ready);
        Assert.Equal(5, report.KnownTotal);
    }

    [Fact]
    public async Task A_group_that_never_consumed_reports_everything_stored_as_ready()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        for (var i = 0; i < 3; i++)
        {
            await transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        }

        var report = await transport.BacklogProbe.GetBacklogAsync(Unique("G"), topic);

        Assert.Equal(3, report.Ready);
    }

    [Fact]
    public async Task Namespaced_names_are_wrapped_on_the_wire_and_unwrapped_for_handlers()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress, o => o.Namespace = "rocketmq-abc|ns1");
        var topic = Unique("T");
        var group = Unique("G");
        var arrived = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic), (m, _) => { arrived.TrySetResult(m); return ValueTask.FromResult(ConsumeOutcome.Ack); });
        await consumer.StartAsync();

        await transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        var message = await arrived.Task.WaitAsync(SafetyTimeout);
        Assert.Single(cluster.GetConsumerIds($"rocketmq-abc|ns1%{group}"));
        await consumer.StopAsync();

        Assert.Empty(cluster.GetConsumerIds($"rocketmq-abc|ns1%{group}")); // unregistered on stop
        Assert.Equal(topic, message.Topic);
        Assert.True(cluster.Broker.TopicExists($"rocketmq-abc|ns1%{topic}"));
        Assert.True(cluster.Broker.TopicExists($"%RETRY%rocketmq-abc|ns1%{group}"));
    }

    [Fact]
    public async Task A_delayed_message_is_held_until_its_level_is_due()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time });
        await using var cluster = await StartLoopbackAsync(new RemotingLoopbackOptions { DelayLevels = MessageConst.DelayLevels }, broker);
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");

        await transport.Producer.SendAsync(new OutgoingMessage(topic, "later"u8.ToArray()) { DeliveryTime = DateTimeOffset.UtcNow.AddSeconds(8) });

        Assert.Empty(broker.GetMessages(topic));
        time.Advance(TimeSpan.FromSeconds(10)); // 8 s rounds up to level 3 (10 s)
        Assert.Single(broker.GetMessages(topic));
    }

    [Fact]
    public async Task Message_group_keeps_every_message_of_the_group_on_one_queue_in_order()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        var queues = new HashSet<int>();
        for (var i = 0; i < 10; i++)
        {
            queues.Add((await transport.Producer.SendAsync(new OutgoingMessage(topic, new[] { (byte)i }) { MessageGroup = "order-7" })).QueueId);
        }

        var queue = Assert.Single(queues);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (byte)i), cluster.Broker.GetMessages(topic).Where(m => m.QueueId == queue).Select(m => m.Body.Span[0]));
        Assert.All(cluster.Broker.GetMessages(topic), m => Assert.Equal("order-7", m.MessageGroup));
    }
}
