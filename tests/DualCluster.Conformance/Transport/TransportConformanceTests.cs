using System.Text;
using DualCluster.Transport;

namespace DualCluster.Conformance.Transport;

/// <summary>
/// The behaviour every <see cref="IClusterTransport"/> must show, whatever its protocol. Derive one small
/// class per transport and implement <see cref="CreateClusterAsync"/>; each test gets a fresh cluster and
/// unique topic and group names, so tests run in parallel.
/// </summary>
/// <remarks>
/// Tests wait on signals with a generous safety timeout, never on sleeps — except where the point is that
/// something does NOT happen (no redelivery after an ack), which needs the invisible duration to pass:
/// keep <see cref="InvisibleDuration"/> short and configure the transport so a retry without an explicit
/// delay (<see cref="ConsumeOutcome.Retry()"/>, a handler exception) is redelivered within a second.
/// Mark every test <see cref="ConformanceFactAttribute"/>, never a plain <c>[Fact]</c>: classes that run the suite against
/// live clusters skip it through that attribute when no cluster is configured.
/// </remarks>
public abstract class TransportConformanceTests
{
    /// <summary>The safety timeout of every wait.</summary>
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Creates a fresh cluster (transport and what serves it) playing <paramref name="role"/>.</summary>
    protected abstract Task<ConformanceCluster> CreateClusterAsync(ClusterRole role);

    /// <summary>How long a delivered, unsettled message stays invisible in these tests (default 2 s).</summary>
    protected virtual TimeSpan InvisibleDuration => TimeSpan.FromSeconds(2);

    /// <summary>Whether the backlog probe sees every count (then the tests expect exact counts and a drained report).</summary>
    protected virtual bool BacklogIsExact => true;

    /// <summary>How many messages <paramref name="group"/>'s dead-letter queue holds; null when the implementation cannot tell.</summary>
    protected virtual Task<int?> CountDeadLettersAsync(ConformanceCluster cluster, string group, string topic) => Task.FromResult<int?>(null);

    /// <summary>The subscription the tests use (short invisible duration); override to add protocol settings.</summary>
    protected virtual ConsumerSubscription Subscribe(string group, string topic) =>
        new(group, topic) { InvisibleDuration = InvisibleDuration, MaxConcurrency = 4 };

    /// <summary>Whatever a topic needs before use (created on the cluster); default nothing (auto-created).</summary>
    protected virtual Task PrepareTopicAsync(ConformanceCluster cluster, string topic) => Task.CompletedTask;

    [ConformanceFact]
    public async Task Sent_message_arrives_intact_from_the_right_cluster()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.New);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var consumer = await StartAsync(cluster, Subscribe(group, topic), Acking(log));

        var message = new OutgoingMessage(topic, Encoding.UTF8.GetBytes("{\"order\":42}")) { Tag = "created", IdempotencyKey = "order-42-created" };
        message.Keys.Add("order-42");
        message.Properties["tenant"] = "acme";
        var receipt = await cluster.Transport.Producer.SendAsync(message);

        await log.WaitForAsync(m => m.Count >= 1, Timeout);
        await consumer.StopAsync();
        var received = Assert.Single(log.Messages);
        Assert.Equal(ClusterRole.New, receipt.Cluster);
        Assert.False(string.IsNullOrEmpty(receipt.MessageId));
        Assert.Equal(ClusterRole.New, received.Cluster);
        Assert.Equal(topic, received.Topic);
        Assert.Equal(receipt.MessageId, received.MessageId);
        Assert.Equal("{\"order\":42}", Encoding.UTF8.GetString(received.Body.Span));
        Assert.Equal("created", received.Tag);
        Assert.Contains("order-42", received.Keys);
        Assert.Equal("acme", received.Properties["tenant"]);
        Assert.Equal("order-42-created", received.IdempotencyKey);
        Assert.Equal(1, received.DeliveryAttempt);
    }

    [ConformanceFact]
    public async Task Acked_message_is_not_redelivered()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.Old);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var consumer = await StartAsync(cluster, Subscribe(group, topic), Acking(log));

        await SendAsync(cluster, topic, "first");
        await log.WaitForAsync(m => m.Count >= 1, Timeout);
        await AssertNoRedeliveryAsync(cluster, topic, log, "first");
        await consumer.StopAsync();
        Assert.Equal(1, log.CountOf("first"));
    }

    [ConformanceFact]
    public async Task Retry_outcome_redelivers_the_message_with_attempt_2()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.New);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var consumer = await StartAsync(cluster, Subscribe(group, topic), (m, _) =>
        {
            log.Add(m);
            return new(m.DeliveryAttempt == 1 ? ConsumeOutcome.Retry(TimeSpan.FromMilliseconds(100)) : ConsumeOutcome.Ack);
        });

        var receipt = await SendAsync(cluster, topic, "retried");
        await log.WaitForAsync(m => m.Count >= 2, Timeout);
        await consumer.StopAsync();
        var deliveries = log.Messages;
        Assert.Equal([1, 2], deliveries.Take(2).Select(m => m.DeliveryAttempt));
        Assert.All(deliveries, m => Assert.Equal("retried", m.IdempotencyKey));
        Assert.All(deliveries, m => Assert.Equal(receipt.MessageId, m.MessageId));
    }

    [ConformanceFact]
    public async Task Handler_exception_redelivers_the_message()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.Old);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var consumer = await StartAsync(cluster, Subscribe(group, topic), (m, _) =>
        {
            log.Add(m);
            return m.DeliveryAttempt == 1 ? throw new InvalidOperationException("handler bug") : new(ConsumeOutcome.Ack);
        });

        await SendAsync(cluster, topic, "throws-once");
        await log.WaitForAsync(m => m.Any(x => x.DeliveryAttempt == 2), Timeout);
        await consumer.StopAsync();
        Assert.Equal(2, log.CountOf("throws-once"));
    }

    [ConformanceFact]
    public async Task Message_failing_every_attempt_is_dead_lettered_after_the_max_attempts()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.New);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var subscription = Subscribe(group, topic) with { MaxDeliveryAttempts = 3 };
        var consumer = await StartAsync(cluster, subscription, (m, _) =>
        {
            log.Add(m);
            return new(m.IdempotencyKey == "poison" ? ConsumeOutcome.Retry(TimeSpan.FromMilliseconds(50)) : ConsumeOutcome.Ack);
        });

        await SendAsync(cluster, topic, "poison");
        await log.WaitForAsync(m => m.Count(x => x.IdempotencyKey == "poison") >= 3, Timeout);
        var deadLetters = await WaitForDeadLettersAsync(cluster, group, topic);
        await AssertNoRedeliveryAsync(cluster, topic, log, "poison");
        await consumer.StopAsync();
        Assert.Equal(3, log.CountOf("poison"));
        Assert.Equal([1, 2, 3], log.Messages.Where(m => m.IdempotencyKey == "poison").Select(m => m.DeliveryAttempt));
        Assert.True(deadLetters is null or 1, $"expected one dead letter, found {deadLetters}");
    }

    [ConformanceFact]
    public async Task Tag_filter_delivers_only_matching_messages()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.Old);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var consumer = await StartAsync(cluster, Subscribe(group, topic) with { FilterExpression = "created || paid" }, Acking(log));

        await SendAsync(cluster, topic, "a", tag: "created");
        await SendAsync(cluster, topic, "c", tag: "shipped");
        await SendAsync(cluster, topic, "u");
        await SendAsync(cluster, topic, "b", tag: "paid");
        await SendAsync(cluster, topic, "marker", tag: "paid");
        await log.WaitForAsync(m => m.Count(x => x.IdempotencyKey is "a" or "b" or "marker") >= 3, Timeout);
        await consumer.StopAsync();
        Assert.Equal(["a", "b", "marker"], log.Messages.Select(m => m.IdempotencyKey).Order(StringComparer.Ordinal));
    }

    [ConformanceFact]
    public async Task Backlog_counts_unconsumed_messages_then_drains_after_consumption()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.New);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var consumer = await StartAsync(cluster, Subscribe(group, topic), Acking(log));
        await consumer.StopAsync();

        for (var i = 0; i < 3; i++)
        {
            await SendAsync(cluster, topic, $"m{i}");
        }

        var before = await cluster.Transport.BacklogProbe.GetBacklogAsync(group, topic);
        Assert.False(before.IsDrained, before.ToString());
        if (BacklogIsExact)
        {
            Assert.Equal(3, before.KnownTotal);
            Assert.Equal(3, before.Ready);
        }

        await consumer.StartAsync();
        await log.WaitForAsync(m => m.Count >= 3, Timeout);
        await consumer.StopAsync();
        if (BacklogIsExact)
        {
            await EventuallyAsync(async () => (await cluster.Transport.BacklogProbe.GetBacklogAsync(group, topic)).IsDrained, "backlog drained after consumption");
        }
    }

    [ConformanceFact]
    public async Task StopAsync_waits_for_the_in_flight_handler_and_acks_it()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.Old);
        var (topic, group) = await NamesAsync(cluster);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new ReceivedLog();
        var consumer = await StartAsync(cluster, Subscribe(group, topic), async (m, _) =>
        {
            log.Add(m);
            if (m.IdempotencyKey == "slow")
            {
                started.TrySetResult();
                await release.Task;
            }

            return ConsumeOutcome.Ack;
        });

        await SendAsync(cluster, topic, "slow");
        await started.Task.WaitAsync(Timeout);
        var stopping = consumer.StopAsync();
        await Task.Yield();
        Assert.False(stopping.IsCompleted, "StopAsync returned while a handler was still running");
        release.SetResult();
        await stopping.WaitAsync(Timeout);

        await consumer.StartAsync();
        await AssertNoRedeliveryAsync(cluster, topic, log, "slow");
        await consumer.StopAsync();
        Assert.Equal(1, log.CountOf("slow"));
    }

    [ConformanceFact]
    public async Task Stop_then_start_again_continues_with_nothing_lost()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.New);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var consumer = await StartAsync(cluster, Subscribe(group, topic), Acking(log));

        for (var i = 0; i < 10; i++)
        {
            await SendAsync(cluster, topic, $"m{i}");
        }

        await log.WaitForAsync(m => m.Count >= 3, Timeout);
        await consumer.StopAsync();
        for (var i = 10; i < 20; i++)
        {
            await SendAsync(cluster, topic, $"m{i}");
        }

        await consumer.StartAsync();
        await log.WaitForAsync(m => m.Select(x => x.IdempotencyKey).Distinct().Count() >= 20, Timeout);
        await consumer.StopAsync();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}").Order(StringComparer.Ordinal), log.Messages.Select(m => m.IdempotencyKey!).Distinct().Order(StringComparer.Ordinal));
    }

    [ConformanceFact]
    public async Task Forced_stop_never_acks_an_unfinished_message()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.Old);
        var (topic, group) = await NamesAsync(cluster);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new ReceivedLog();
        var stubborn = await StartAsync(cluster, Subscribe(group, topic), async (m, ct) =>
        {
            log.Add(m);
            started.TrySetResult();
            try
            {
                await Task.Delay(System.Threading.Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                // A handler that swallows the cancellation and claims success must still not be acked.
            }

            return ConsumeOutcome.Ack;
        });

        await SendAsync(cluster, topic, "unfinished");
        await started.Task.WaitAsync(Timeout);
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            await stubborn.StopAsync(cancelled.Token).WaitAsync(Timeout);
        }

        var next = await StartAsync(cluster, Subscribe(group, topic), Acking(log));
        await log.WaitForAsync(m => m.Count(x => x.IdempotencyKey == "unfinished") >= 2, Timeout);
        await next.StopAsync();
        Assert.True(log.Messages.Last(m => m.IdempotencyKey == "unfinished").DeliveryAttempt >= 2);
    }

    [ConformanceFact]
    public async Task Concurrency_limit_is_respected()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.New);
        var (topic, group) = await NamesAsync(cluster);
        var log = new ReceivedLog();
        var running = 0;
        var highest = 0;
        var consumer = await StartAsync(cluster, Subscribe(group, topic) with { MaxConcurrency = 2 }, async (m, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref highest, now);
            await Task.Delay(20, CancellationToken.None);
            Interlocked.Decrement(ref running);
            log.Add(m);
            return ConsumeOutcome.Ack;
        });

        for (var i = 0; i < 8; i++)
        {
            await SendAsync(cluster, topic, $"m{i}");
        }

        await log.WaitForAsync(m => m.Select(x => x.IdempotencyKey).Distinct().Count() >= 8, Timeout);
        await consumer.StopAsync();
        Assert.InRange(Volatile.Read(ref highest), 1, 2);
    }

    [ConformanceFact]
    public async Task Invalid_messages_are_rejected_with_ArgumentException()
    {
        await using var cluster = await CreateClusterAsync(ClusterRole.Old);
        var (topic, _) = await NamesAsync(cluster);
        var producer = cluster.Transport.Producer;

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await producer.SendAsync(new OutgoingMessage(topic, ReadOnlyMemory<byte>.Empty)));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await producer.SendAsync(new OutgoingMessage("bad topic!", new byte[] { 1 })));
        var reserved = new OutgoingMessage(topic, new byte[] { 1 });
        reserved.Properties["UNIQ_KEY"] = "x";
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await producer.SendAsync(reserved));
        var oversize = new OutgoingMessage(topic, new byte[MessageValidator.DefaultMaxBodySize + 1]);
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await producer.SendAsync(oversize));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// Unique topic and group names for one test, with the topic prepared. Override to use names given from outside
    /// instead (a live cluster where the operator created the topic and the group; nothing is created then).
    /// </summary>
    protected virtual async Task<(string Topic, string Group)> NamesAsync(ConformanceCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var id = Guid.NewGuid().ToString("N")[..12];
        var topic = "ct-topic-" + id;
        await PrepareTopicAsync(cluster, topic);
        return (topic, "ct-group-" + id);
    }

    /// <summary>Creates and starts a consumer.</summary>
    protected static async Task<IClusterConsumer> StartAsync(ConformanceCluster cluster, ConsumerSubscription subscription, ClusterMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var consumer = cluster.Transport.CreateConsumer(subscription, handler);
        await consumer.StartAsync();
        return consumer;
    }

    /// <summary>A handler that records and acks.</summary>
    protected static ClusterMessageHandler Acking(ReceivedLog log) => (m, _) =>
    {
        log.Add(m);
        return new(ConsumeOutcome.Ack);
    };

    /// <summary>Sends a small message whose idempotency key is <paramref name="key"/>.</summary>
    protected static ValueTask<SendReceipt> SendAsync(ConformanceCluster cluster, string topic, string key, string? tag = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return cluster.Transport.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes("body of " + key)) { IdempotencyKey = key, Tag = tag });
    }

    /// <summary>
    /// Waits past the invisible duration (the only way to see that something does not happen), then sends a
    /// marker and waits for it, and asserts <paramref name="key"/> was delivered no more often than before.
    /// </summary>
    protected async Task AssertNoRedeliveryAsync(ConformanceCluster cluster, string topic, ReceivedLog log, string key)
    {
        ArgumentNullException.ThrowIfNull(log);
        var before = log.CountOf(key);
        await Task.Delay(InvisibleDuration + TimeSpan.FromMilliseconds(500));
        var marker = "marker-" + Guid.NewGuid().ToString("N");
        await SendAsync(cluster, topic, marker);
        await log.WaitForAsync(m => m.Any(x => x.IdempotencyKey == marker), Timeout);
        Assert.Equal(before, log.CountOf(key));
    }

    /// <summary>Polls <paramref name="condition"/> until it holds (every 50 ms, up to the safety timeout).</summary>
    protected static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }

            await Task.Delay(50);
        }
    }

    private async Task<int?> WaitForDeadLettersAsync(ConformanceCluster cluster, string group, string topic)
    {
        int? count = null;
        await EventuallyAsync(
            async () =>
            {
                count = await CountDeadLettersAsync(cluster, group, topic);
                return count is null or > 0;
            },
            "the message reaches the dead-letter queue");
        return count;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
