using System.Text;
using DualCluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Testing.Tests.Broker;

public sealed class InMemoryBrokerTests
{
    private static readonly TimeSpan Invisible = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private InMemoryBroker NewBroker(Action<InMemoryBrokerOptions>? configure = null)
    {
        var options = new InMemoryBrokerOptions { Name = "test", TimeProvider = _time, DefaultQueueCount = 2 };
        configure?.Invoke(options);
        return new InMemoryBroker(options);
    }

    private static OutgoingMessage Message(string topic, string key, string? tag = null) =>
        new(topic, Encoding.UTF8.GetBytes(key)) { IdempotencyKey = key, Tag = tag };

    private static string[] Keys(IEnumerable<PopDelivery> deliveries) => [.. deliveries.Select(d => d.Message.IdempotencyKey!)];

    [Fact]
    public void New_group_starts_at_latest_and_never_sees_earlier_messages()
    {
        var broker = NewBroker();
        broker.Send(Message("orders", "before"));
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "after"));

        Assert.Equal(["after"], Keys(broker.Receive("g", "orders", 10, Invisible)));
    }

    [Fact]
    public void Group_configured_to_start_at_earliest_sees_earlier_messages()
    {
        var broker = NewBroker();
        broker.Send(Message("orders", "before"));
        broker.ConfigureGroup("g", startPosition: ConsumeStartPosition.Earliest);

        Assert.Equal(["before"], Keys(broker.Receive("g", "orders", 10, Invisible)));
    }

    [Fact]
    public void Broker_option_makes_every_new_group_start_at_earliest()
    {
        var broker = NewBroker(o => o.NewGroupStartPosition = ConsumeStartPosition.Earliest);
        broker.Send(Message("orders", "before"));

        Assert.Single(broker.Receive("g", "orders", 10, Invisible));
    }

    [Fact]
    public void Groups_consume_independently()
    {
        var broker = NewBroker();
        broker.Subscribe("a", "orders");
        broker.Subscribe("b", "orders");
        broker.Send(Message("orders", "m1"));

        var a = Assert.Single(broker.Receive("a", "orders", 10, Invisible));
        Assert.True(broker.Ack(a));
        Assert.Empty(broker.Receive("a", "orders", 10, Invisible));
        Assert.Equal(["m1"], Keys(broker.Receive("b", "orders", 10, Invisible)));
    }

    [Fact]
    public void Stored_message_keeps_what_was_sent_and_the_sender_message_id()
    {
        var broker = NewBroker();
        var message = Message("orders", "k", tag: "created");
        message.Keys.Add("order-1");
        message.Properties["tenant"] = "acme";
        message.MessageGroup = "customer-7";

        var result = broker.Send(message, messageId: "client-id-1", bornTime: _time.GetUtcNow().AddSeconds(-1));
        var stored = broker.GetMessage("orders", result.QueueId, result.QueueOffset)!;

        Assert.Equal("client-id-1", stored.MessageId);
        Assert.Equal(("orders", "created", "customer-7"), (stored.Topic, stored.Tag, stored.MessageGroup));
        Assert.Equal(["order-1"], stored.Keys);
        Assert.Equal("acme", stored.Properties["tenant"]);
        Assert.Equal("k", stored.Properties[MessageProperties.IdempotencyKey]);
        Assert.Equal(_time.GetUtcNow().AddSeconds(-1), stored.BornTime);
        Assert.Equal(_time.GetUtcNow(), stored.StoreTime);
        Assert.Equal(0, stored.ReconsumeTimes);
    }

    [Fact]
    public void Broker_generated_ids_are_unique()
    {
        var broker = NewBroker();
        var ids = Enumerable.Range(0, 100).Select(i => broker.Send(Message("orders", $"m{i}")).MessageId).ToHashSet();
        Assert.Equal(100, ids.Count);
    }

    [Fact]
    public void Messages_of_one_group_go_to_one_queue_and_others_round_robin()
    {
        var broker = NewBroker();
        broker.CreateTopic("fifo", 8);
        var queues = Enumerable.Range(0, 20).Select(i =>
        {
            var m = Message("fifo", $"m{i}");
            m.MessageGroup = "customer-42";
            return broker.Send(m).QueueId;
        }).Distinct();
        var roundRobin = Enumerable.Range(0, 8).Select(i => broker.Send(Message("fifo", $"r{i}")).QueueId).Distinct();

        Assert.Single(queues);
        Assert.Equal(8, roundRobin.Count());
    }

    [Fact]
    public void Unacked_message_is_redelivered_after_its_invisible_duration_with_the_next_attempt()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "m1"));

        var first = Assert.Single(broker.Receive("g", "orders", 10, Invisible));
        Assert.Equal(1, first.DeliveryAttempt);
        _time.Advance(Invisible - TimeSpan.FromSeconds(1));
        Assert.Empty(broker.Receive("g", "orders", 10, Invisible));
        _time.Advance(TimeSpan.FromSeconds(1));

        var second = Assert.Single(broker.Receive("g", "orders", 10, Invisible));
        Assert.Equal(2, second.DeliveryAttempt);
        Assert.Equal(first.Message.MessageId, second.Message.MessageId);
        Assert.False(broker.Ack(first), "the first delivery's handle expired");
        Assert.True(broker.Ack(second));
        Assert.Equal(1, broker.Counters.Redelivered);
    }

    [Fact]
    public void Acked_message_is_never_redelivered_and_its_handle_goes_stale()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "m1"));

        var delivery = Assert.Single(broker.Receive("g", "orders", 10, Invisible));
        Assert.True(broker.Ack("g", "orders", delivery.ReceiptHandle));
        Assert.False(broker.Ack("g", "orders", delivery.ReceiptHandle));
        Assert.False(broker.Ack("g", "orders", "not-a-handle"));
        _time.Advance(Invisible * 3);

        Assert.Empty(broker.Receive("g", "orders", 10, Invisible));
        Assert.Equal(1, broker.Counters.Acked);
    }

    [Fact]
    public void Changing_the_invisible_duration_redelivers_after_that_delay_with_a_new_handle()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "m1"));
        var delivery = Assert.Single(broker.Receive("g", "orders", 10, Invisible));

        var handle = broker.ChangeInvisibleDuration("g", "orders", delivery.ReceiptHandle, TimeSpan.FromSeconds(5));
        Assert.NotNull(handle);
        Assert.NotEqual(delivery.ReceiptHandle, handle);
        Assert.Null(broker.ChangeInvisibleDuration("g", "orders", delivery.ReceiptHandle, TimeSpan.FromSeconds(5)));
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(broker.Receive("g", "orders", 10, Invisible));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(2, Assert.Single(broker.Receive("g", "orders", 10, Invisible)).DeliveryAttempt);
    }

    [Fact]
    public async Task A_waiting_long_poll_gets_a_message_whose_invisibility_was_shortened_when_the_new_delay_ends()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "m1"));
        var delivery = Assert.Single(broker.Receive("g", "orders", 10, TimeSpan.FromMinutes(5)));

        // A long poll parks while the only message is invisible for minutes...
        var polling = broker.ReceiveAsync("g", "orders", 10, Invisible, TimeSpan.FromMinutes(1)).AsTask();
        Assert.False(polling.IsCompleted);

        // ...then the handler asks for redelivery in one second: the poll must not sleep through it.
        Assert.NotNull(broker.ChangeInvisibleDuration(delivery, TimeSpan.FromSeconds(1)));
        _time.Advance(TimeSpan.FromSeconds(1));

        var redelivered = Assert.Single(await polling.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, redelivered.DeliveryAttempt);
    }

    [Fact]
    public void Changing_the_invisible_duration_to_zero_makes_the_message_visible_at_once()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "m1"));
        var delivery = Assert.Single(broker.Receive("g", "orders", 10, Invisible));

        Assert.NotNull(broker.ChangeInvisibleDuration(delivery, TimeSpan.Zero));

        Assert.Equal(2, Assert.Single(broker.Receive("g", "orders", 10, Invisible)).DeliveryAttempt);
    }

    [Fact]
    public void Message_goes_to_the_dead_letter_queue_after_the_group_max_attempts()
    {
        var broker = NewBroker();
        broker.ConfigureGroup("g", maxDeliveryAttempts: 3);
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "poison"));

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var delivery = Assert.Single(broker.Receive("g", "orders", 10, Invisible));
            Assert.Equal(attempt, delivery.DeliveryAttempt);
            broker.ChangeInvisibleDuration(delivery, TimeSpan.FromSeconds(1));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Empty(broker.Receive("g", "orders", 10, Invisible));
        var dead = Assert.Single(broker.GetDeadLetters("g"));
        Assert.Equal("%DLQ%g", dead.Topic);
        Assert.Equal("orders", dead.OriginalTopic);
        Assert.Equal("orders", dead.Properties[BrokerProperties.DeadLetterOriginTopic]);
        Assert.Equal("poison", dead.IdempotencyKey);
        Assert.Equal(1, broker.Counters.DeadLettered);
        Assert.True(broker.GetBacklog("g", "orders").IsDrained);
    }

    [Fact]
    public void Delivery_forwarded_to_the_dead_letter_queue_is_not_redelivered()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "poison"));
        var delivery = Assert.Single(broker.Receive("g", "orders", 10, Invisible));

        Assert.True(broker.ForwardToDeadLetter("g", "orders", delivery.ReceiptHandle));
        Assert.False(broker.ForwardToDeadLetter("g", "orders", delivery.ReceiptHandle));
        _time.Advance(Invisible);

        Assert.Empty(broker.Receive("g", "orders", 10, Invisible));
        Assert.Equal("poison", Assert.Single(broker.GetDeadLetters("g")).IdempotencyKey);
    }

    [Fact]
    public void Delayed_message_becomes_visible_when_due()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        var message = Message("orders", "later");
        message.DeliveryTime = _time.GetUtcNow().AddMinutes(1);

        var result = broker.Send(message);
        Assert.Equal(-1, result.QueueOffset);
        Assert.Empty(broker.Receive("g", "orders", 10, Invisible));
        Assert.Equal(1, broker.GetBacklog("g", "orders").Delayed);
        _time.Advance(TimeSpan.FromMinutes(1));

        var delivery = Assert.Single(broker.Receive("g", "orders", 10, Invisible));
        Assert.Equal(message.DeliveryTime, delivery.Message.DeliveryTime);
        Assert.Equal(0, broker.GetBacklog("g", "orders").Delayed);
    }

    [Fact]
    public void Delivery_time_in_the_past_is_delivered_at_once()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        var message = Message("orders", "now");
        message.DeliveryTime = _time.GetUtcNow().AddMinutes(-1);

        Assert.True(broker.Send(message).QueueOffset >= 0);
        Assert.Single(broker.Receive("g", "orders", 10, Invisible));
    }

    [Fact]
    public void Receive_returns_only_messages_whose_tag_passes_the_filter()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "a", "created"));
        broker.Send(Message("orders", "b", "shipped"));
        broker.Send(Message("orders", "c"));
        broker.Send(Message("orders", "d", "paid"));

        Assert.Equal(["a", "d"], Keys(broker.Receive("g", "orders", 10, Invisible, "created || paid")).Order());
        Assert.True(broker.GetBacklog("g", "orders").Ready == 0, "filtered-out messages are not backlog for the group");
    }

    [Fact]
    public async Task ReceiveAsync_waits_for_a_message_to_arrive()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        var receiving = broker.ReceiveAsync("g", "orders", 10, Invisible, TimeSpan.FromSeconds(20)).AsTask();
        Assert.False(receiving.IsCompleted);

        broker.Send(Message("orders", "m1"));

        Assert.Equal(["m1"], Keys(await receiving.WaitAsync(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public async Task ReceiveAsync_returns_empty_when_the_poll_timeout_passes()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        var receiving = broker.ReceiveAsync("g", "orders", 10, Invisible, TimeSpan.FromSeconds(20)).AsTask();

        _time.Advance(TimeSpan.FromSeconds(20));

        Assert.Empty(await receiving.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task ReceiveAsync_wakes_when_an_unacked_message_becomes_visible_again()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "m1"));
        Assert.Single(broker.Receive("g", "orders", 10, TimeSpan.FromSeconds(5)));
        var receiving = broker.ReceiveAsync("g", "orders", 10, Invisible, TimeSpan.FromSeconds(20)).AsTask();

        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(2, Assert.Single(await receiving.WaitAsync(TimeSpan.FromSeconds(30))).DeliveryAttempt);
    }

    [Fact]
    public async Task ReceiveAsync_is_cancellable()
    {
        var broker = NewBroker();
        using var cts = new CancellationTokenSource();
        var receiving = broker.ReceiveAsync("g", "orders", 10, Invisible, TimeSpan.FromMinutes(5), cancellationToken: cts.Token).AsTask();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Topic_grown_with_new_queues_is_read_from_their_start()
    {
        var broker = NewBroker();
        broker.CreateTopic("orders", 1);
        broker.Subscribe("g", "orders");
        Assert.Equal(3, broker.AddQueues("orders", 2));
        Assert.Equal(3, broker.GetQueueCount("orders"));

        for (var q = 0; q < 3; q++)
        {
            broker.Send(Message("orders", $"q{q}"), queueId: q);
        }

        Assert.Equal(["q0", "q1", "q2"], Keys(broker.Receive("g", "orders", 10, Invisible)).Order());
    }

    [Fact]
    public void Unknown_topic_is_refused_when_auto_creation_is_off()
    {
        var broker = NewBroker(o => o.AutoCreateTopics = false);

        var e = Assert.Throws<InMemoryBrokerException>(() => broker.Send(Message("orders", "m")));
        Assert.Equal(BrokerStatusCodes.TopicNotFound, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.True(broker.CreateTopic("orders", 2));
        Assert.False(broker.CreateTopic("orders", 5));
        Assert.Equal(2, broker.GetQueueCount("orders"));
        Assert.Equal(0, broker.GetQueueCount("missing"));
    }

    [Fact]
    public void Send_to_a_queue_that_does_not_exist_is_refused()
    {
        var broker = NewBroker();
        broker.CreateTopic("orders", 2);

        var e = Assert.Throws<InMemoryBrokerException>(() => broker.Send(Message("orders", "m"), queueId: 2));
        Assert.Equal(BrokerStatusCodes.QueueNotFound, e.StatusCode);
    }

    [Fact]
    public void Backlog_reports_ready_in_flight_retry_and_delayed_messages()
    {
        var broker = NewBroker();
        broker.CreateTopic("orders", 2);
        broker.Subscribe("g", "orders");
        for (var i = 0; i < 4; i++)
        {
            broker.Send(Message("orders", $"m{i}"));
        }

        var delayed = Message("orders", "delayed");
        delayed.DeliveryTime = _time.GetUtcNow().AddHours(1);
        broker.Send(delayed);
        var popped = broker.Receive("g", "orders", 2, TimeSpan.FromSeconds(10));
        broker.ChangeInvisibleDuration(popped[0], TimeSpan.FromMinutes(10));
        _time.Advance(TimeSpan.FromSeconds(10));

        var report = broker.GetBacklog("g", "orders");
        Assert.Equal(2, report.Ready);
        Assert.Equal(1, report.InFlight);
        Assert.Equal(1, report.Retry);
        Assert.Equal(1, report.Delayed);
        Assert.Equal(5, report.KnownTotal);
        Assert.Equal(2, report.Queues!.Count);
        Assert.All(report.Queues, q => Assert.Equal("test", q.Broker));
        Assert.Equal(2, report.Queues.Sum(q => q.Lag));
        Assert.False(report.IsDrained);
    }

    [Fact]
    public void Backlog_of_a_group_that_never_subscribed_counts_every_stored_message()
    {
        var broker = NewBroker();
        broker.Send(Message("orders", "m1"));
        broker.Send(Message("orders", "m2"));

        var report = broker.GetBacklog("never", "orders");

        Assert.Equal(2, report.Ready);
        Assert.NotNull(report.Remark);
        Assert.True(broker.GetBacklog("never", "no-such-topic").IsDrained);
    }

    [Fact]
    public void Backlog_is_drained_once_everything_is_acked()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("orders", "m1"));
        broker.Send(Message("orders", "m2"));

        foreach (var delivery in broker.Receive("g", "orders", 10, Invisible))
        {
            broker.Ack(delivery);
        }

        Assert.True(broker.GetBacklog("g", "orders").IsDrained);
    }

    [Fact]
    public void Determinism_same_seed_and_operations_give_the_same_ids_and_lost_acks()
    {
        static (string[] Ids, long Lost) Run(int seed)
        {
            var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "det", Seed = seed, TimeProvider = new FakeTimeProvider() });
            broker.Faults.AckLossProbability = 0.5;
            broker.Subscribe("g", "t");
            var ids = Enumerable.Range(0, 50).Select(i => broker.Send(Message("t", $"m{i}")).MessageId).ToArray();
            foreach (var delivery in broker.Receive("g", "t", 100, Invisible))
            {
                broker.Ack(delivery);
            }

            return (ids, broker.Counters.AcksLost);
        }

        var first = Run(7);
        var again = Run(7);
        var other = Run(8);

        Assert.Equal(first.Ids, again.Ids);
        Assert.Equal(first.Lost, again.Lost);
        Assert.InRange(first.Lost, 1, 49);
        Assert.NotEqual(first.Ids, other.Ids);
    }
}
