using System.Text;
using DualCluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Testing.Tests.Broker;

public sealed class InMemoryBrokerPullTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private InMemoryBroker NewBroker()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "pull", TimeProvider = _time });
        broker.CreateTopic("orders", 1);
        return broker;
    }

    private static OutgoingMessage Message(string key, string? tag = null) =>
        new("orders", Encoding.UTF8.GetBytes(key)) { IdempotencyKey = key, Tag = tag };

    [Fact]
    public void Pull_reads_from_an_offset_and_reports_the_next_offset()
    {
        var broker = NewBroker();
        for (var i = 0; i < 5; i++)
        {
            broker.Send(Message($"m{i}"));
        }

        var result = broker.Pull("g", "orders", 0, 1, 3);

        Assert.Equal(PullStatus.Found, result.Status);
        Assert.Equal(["m1", "m2", "m3"], result.Messages.Select(m => m.IdempotencyKey));
        Assert.Equal([1L, 2L, 3L], result.Messages.Select(m => m.QueueOffset));
        Assert.Equal(4, result.NextOffset);
        Assert.Equal((0L, 5L), (result.MinOffset, result.MaxOffset));
    }

    [Fact]
    public void Pull_at_the_max_offset_finds_no_new_message()
    {
        var broker = NewBroker();
        broker.Send(Message("m0"));

        var result = broker.Pull("g", "orders", 0, 1, 32);

        Assert.Equal(PullStatus.NoNewMessage, result.Status);
        Assert.Empty(result.Messages);
        Assert.Equal(1, result.NextOffset);
    }

    [Fact]
    public void Pull_beyond_the_max_offset_is_an_illegal_offset()
    {
        var broker = NewBroker();
        broker.Send(Message("m0"));

        var result = broker.Pull("g", "orders", 0, 7, 32);

        Assert.Equal(PullStatus.OffsetIllegal, result.Status);
        Assert.Equal(1, result.NextOffset);
        Assert.Equal(PullStatus.OffsetIllegal, broker.Pull("g", "orders", 0, -1, 32).Status);
    }

    [Fact]
    public void Pull_skips_messages_that_do_not_pass_the_filter()
    {
        var broker = NewBroker();
        broker.Send(Message("a", "shipped"));
        broker.Send(Message("b", "shipped"));

        var none = broker.Pull("g", "orders", 0, 0, 32, "paid");
        broker.Send(Message("c", "paid"));
        var found = broker.Pull("g", "orders", 0, none.NextOffset, 32, "paid");

        Assert.Equal(PullStatus.NoMatchedMessage, none.Status);
        Assert.Equal(2, none.NextOffset);
        Assert.Equal(["c"], found.Messages.Select(m => m.IdempotencyKey));
    }

    [Fact]
    public async Task PullAsync_holds_until_a_message_arrives()
    {
        var broker = NewBroker();
        var pulling = broker.PullAsync("g", "orders", 0, 0, 32, TimeSpan.FromSeconds(15)).AsTask();
        Assert.False(pulling.IsCompleted);

        broker.Send(Message("m0"));

        var result = await pulling.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(PullStatus.Found, result.Status);
    }

    [Fact]
    public async Task PullAsync_returns_no_new_message_after_the_poll_timeout()
    {
        var broker = NewBroker();
        var pulling = broker.PullAsync("g", "orders", 0, 0, 32, TimeSpan.FromSeconds(15)).AsTask();

        _time.Advance(TimeSpan.FromSeconds(15));

        Assert.Equal(PullStatus.NoNewMessage, (await pulling.WaitAsync(TimeSpan.FromSeconds(30))).Status);
    }

    [Fact]
    public void Offsets_are_committed_and_queried_per_group_and_queue()
    {
        var broker = NewBroker();
        broker.Send(Message("m0"));
        broker.Send(Message("m1"));

        Assert.Equal(-1, broker.QueryOffset("g", "orders", 0));
        broker.CommitOffset("g", "orders", 0, 1);

        Assert.Equal(1, broker.QueryOffset("g", "orders", 0));
        Assert.Equal(-1, broker.QueryOffset("other", "orders", 0));
        Assert.Equal((0L, 2L), (broker.GetMinOffset("orders", 0), broker.GetMaxOffset("orders", 0)));
        Assert.Equal(1, broker.GetBacklog("g", "orders").Ready);
    }

    [Fact]
    public void Subscribing_a_new_group_records_the_latest_offsets()
    {
        var broker = NewBroker();
        broker.Send(Message("m0"));

        Assert.True(broker.Subscribe("g", "orders"));
        Assert.False(broker.Subscribe("g", "orders"));

        Assert.Equal(1, broker.QueryOffset("g", "orders", 0));
    }

    [Fact]
    public void Sent_back_message_goes_to_the_group_retry_topic_with_its_reconsume_count()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("m0"));
        var original = broker.Pull("g", "orders", 0, 0, 1).Messages[0];

        var result = broker.SendBack("g", original, TimeSpan.Zero);

        Assert.Equal("%RETRY%g", result.Topic);
        Assert.Equal(1, broker.GetQueueCount("%RETRY%g"));
        var retry = broker.Pull("g", "%RETRY%g", 0, 0, 32).Messages.Single();
        Assert.Equal(1, retry.ReconsumeTimes);
        Assert.Equal("orders", retry.OriginalTopic);
        Assert.Equal(original.MessageId, retry.MessageId);
        Assert.Equal("m0", retry.IdempotencyKey);
        Assert.Equal("orders", retry.ToReceivedMessage(ClusterRole.Old, 2).Topic);
    }

    [Fact]
    public void Sent_back_message_with_a_delay_waits_in_the_retry_topic_until_due()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("m0"));
        var original = broker.Pull("g", "orders", 0, 0, 1).Messages[0];
        broker.CommitOffset("g", "orders", 0, 1);

        broker.SendBack("g", original, TimeSpan.FromSeconds(10));

        Assert.Equal(PullStatus.NoNewMessage, broker.Pull("g", "%RETRY%g", 0, 0, 32).Status);
        Assert.Equal(1, broker.GetBacklog("g", "orders").Retry);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(PullStatus.Found, broker.Pull("g", "%RETRY%g", 0, 0, 32).Status);
        Assert.Equal(1, broker.GetBacklog("g", "orders").Retry);
        broker.CommitOffset("g", "%RETRY%g", 0, 1);
        Assert.True(broker.GetBacklog("g", "orders").IsDrained);
    }

    [Fact]
    public void Message_sent_back_more_than_the_max_reconsume_times_is_dead_lettered()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("poison"));
        var message = broker.Pull("g", "orders", 0, 0, 1).Messages[0];

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("%RETRY%g", broker.SendBack("g", message, TimeSpan.Zero, maxReconsumeTimes: 2).Topic);
            message = broker.GetMessages("%RETRY%g")[^1];
        }

        var last = broker.SendBack("g", message, TimeSpan.Zero, maxReconsumeTimes: 2);

        Assert.Equal("%DLQ%g", last.Topic);
        var dead = Assert.Single(broker.GetDeadLetters("g"));
        Assert.Equal("orders", dead.OriginalTopic);
        Assert.Equal(2, dead.ReconsumeTimes);
        Assert.Equal(1, broker.Counters.DeadLettered);
    }
}
