using DualCluster.Consuming;
using DualCluster.Idempotency;
using DualCluster.Routing;
using DualCluster.Tests.Fakes;
using static DualCluster.Tests.Fakes.ConsumerHarness;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Consuming;

/// <summary>Regression tests for what the migration rehearsal (DualCluster.Testing, issue 6) found.</summary>
public sealed class RehearsalFindingsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_handler_slower_than_the_lease_keeps_its_claim_so_a_redelivered_copy_waits_instead_of_running_again()
    {
        // Found by the slow-handler fault: without lease renewal the copy redelivered after the invisible duration
        // claimed the lapsed key and ran the handler a second time (up to 13 runs of one message).
        var time = new FakeTimeProvider();
        var started = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var cluster = new FakeCluster(
            FakeCluster.Settings("n1", 0, 0, extra: ("DualCluster:Idempotency:Lease", "00:00:01")),
            b => b.AddConsumer("slow-group", "orders", async (_, _) =>
            {
                Interlocked.Increment(ref started);
                await release.Task;
            }),
            time);
        var consumer = await StartAsync(cluster);
        var old = cluster.Old.Consumers.Single(c => c.Running);

        var first = old.DeliverAsync("a", "key-1");
        for (var i = 0; i < 12; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(250)); // 3 s in all: three leases
        }

        var copy = await old.DeliverAsync("a", "key-1", attempt: 2).AsTask().WaitAsync(Wait);
        release.SetResult();
        var outcome = await first.AsTask().WaitAsync(Wait);

        Assert.False(copy.Acknowledge);   // held elsewhere: left for redelivery
        Assert.True(outcome.Acknowledge);
        Assert.Equal(1, started);
        Assert.Equal(ConsumeOutcome.Ack, await old.DeliverAsync("a", "key-1", attempt: 3));
        Assert.Equal(1, started);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_send_that_lands_on_Old_during_the_drain_grace_period_keeps_the_last_consumers_on_Old()
    {
        // Found by the cluster-outage fault: a send still in its retries under the previous routing landed on Old
        // after the last consumers had read it drained and left (a lost message).
        var time = new FakeTimeProvider();
        var node = NodeInBucket(b => b >= 50);
        await using var cluster = new FakeCluster(
            FakeCluster.Settings(node, 100, 50, extra: ("DualCluster:Consumer:DrainGracePeriod", "00:00:10")),
            b => b.AddConsumer("grace-group", "orders", (_, _) => Task.CompletedTask),
            time);
        var consumer = await StartAsync(cluster);

        var draining = NextStatus(consumer, s => s.Phase == ConsumerPhase.Draining);
        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "100"));
        cluster.Services.GetRequiredService<RoutingState>().Reload();
        await draining;

        cluster.Old.Backlog = new BacklogReport { Ready = 1, InFlight = 0, Retry = 0, Delayed = 0 }; // the late send
        var next = NextStatus(consumer, _ => true);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(ConsumerPhase.Draining, (await next).Phase);

        cluster.Old.Backlog = new BacklogReport { Ready = 0, InFlight = 0, Retry = 0, Delayed = 0 };
        next = NextStatus(consumer, _ => true);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(ConsumerPhase.Draining, (await next).Phase); // the grace period starts again

        next = NextStatus(consumer, _ => true);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(ConsumerPhase.Draining, (await next).Phase);
        Assert.DoesNotContain("stop Old", cluster.Journal);

        var left = NextStatus(consumer, s => s.Phase == ConsumerPhase.New);
        time.Advance(TimeSpan.FromSeconds(5));
        await left;
        Assert.Contains("stop Old", cluster.Journal);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task With_the_guard_switched_off_the_last_consumers_leave_Old_without_draining_it()
    {
        var node = NodeInBucket(b => b >= 50);
        await using var cluster = new FakeCluster(
            FakeCluster.Settings(node, 100, 50, extra: ("DualCluster:SafeOrderGuard", "false")),
            b => b.AddConsumer("unguarded-group", "orders", (_, _) => Task.CompletedTask));
        cluster.Old.Backlog = new BacklogReport { Ready = 5, InFlight = 0, Retry = 0, Delayed = 0 };
        var consumer = await StartAsync(cluster);

        var left = NextStatus(consumer, s => s.Phase == ConsumerPhase.New);
        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "100"));
        cluster.Services.GetRequiredService<RoutingState>().Reload();
        await left;

        Assert.DoesNotContain("probe Old", cluster.Journal);
        Assert.Contains("stop Old", cluster.Journal);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_in_memory_store_renews_only_a_live_claim_of_the_current_holder()
    {
        var time = new FakeTimeProvider();
        using var store = new InMemoryIdempotencyStore(time);
        var lease = TimeSpan.FromSeconds(1);
        var claim = await store.TryClaimAsync("k", lease);

        time.Advance(TimeSpan.FromMilliseconds(800));
        Assert.True(await store.RenewAsync("k", claim.FencingToken, lease));
        Assert.False(await store.RenewAsync("k", claim.FencingToken + 1, lease));
        time.Advance(TimeSpan.FromMilliseconds(800));
        Assert.Equal(ClaimStatus.HeldElsewhere, (await store.TryClaimAsync("k", lease)).Status);

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(await store.RenewAsync("k", claim.FencingToken, lease)); // lapsed
        var next = await store.TryClaimAsync("k", lease);
        Assert.Equal(ClaimStatus.Acquired, next.Status);
        Assert.True(await store.CompleteAsync("k", next.FencingToken, TimeSpan.FromMinutes(1)));
        Assert.False(await store.RenewAsync("k", next.FencingToken, lease)); // completed
    }

    [Fact]
    public async Task A_key_held_elsewhere_is_postponed_longer_with_every_attempt_so_the_lease_lapses_before_the_dead_letter_queue()
    {
        // Found by the 1 M soak: a copy postponed at a fixed 200 ms used up its 16 delivery attempts while a crashed
        // node's claim (2 s lease) was still live, and went to the dead-letter queue never handled.
        var store = new InMemoryIdempotencyStore();
        await store.TryClaimAsync("held-group:key-1", TimeSpan.FromMinutes(5));
        await using var cluster = new FakeCluster(
            FakeCluster.Settings("n1", 0, 0, extra: [("DualCluster:Idempotency:HeldElsewhereRetryDelay", "00:00:00.200"), ("DualCluster:Idempotency:Lease", "00:00:02")]),
            b => b.AddConsumer("held-group", "orders", (_, _) => Task.CompletedTask).UseIdempotencyStore(_ => store));
        var consumer = await StartAsync(cluster);
        var old = cluster.Old.Consumers.Single(c => c.Running);

        var delays = new List<TimeSpan>();
        for (var attempt = 1; attempt <= 16; attempt++)
        {
            delays.Add((await old.DeliverAsync("a", "key-1", attempt)).RetryDelay!.Value);
        }

        Assert.Equal(TimeSpan.FromMilliseconds(200), delays[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(400), delays[1]);
        Assert.Equal(TimeSpan.FromSeconds(2), delays[^1]); // capped at the lease
        Assert.True(delays.Take(15).Aggregate(TimeSpan.Zero, (a, b) => a + b) > TimeSpan.FromSeconds(2) * 5, "the postponements before the last attempt must outlast the lease several times");
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_store_outage_longer_than_half_the_lease_after_the_handler_ran_still_ends_with_the_key_completed()
    {
        // Found by the 300,000-message soak: with the store down in bursts, the gate gave up completing after half the
        // lease and acked; the ack was lost, the claim lapsed, and the redelivered copy ran the handler a second time.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var store = new OutageStore(new InMemoryIdempotencyStore(time), time);
        var handled = 0;
        await using var cluster = new FakeCluster(
            FakeCluster.Settings("n1", 0, 0, extra: [("DualCluster:Idempotency:Lease", "00:00:02")]),
            b => b.AddConsumer("outage-group", "orders", (_, _) =>
            {
                handled++;
                store.DownUntil = time.GetUtcNow() + TimeSpan.FromSeconds(1.5); // the store goes down right after the effect
                return Task.CompletedTask;
            }).UseIdempotencyStore(_ => store),
            time);
        var consumer = await StartAsync(cluster);
        var old = cluster.Old.Consumers.Single(c => c.Running);

        var delivery = old.DeliverAsync("a", "key-1").AsTask();
        for (var step = 0; step < 200 && !delivery.IsCompleted; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Yield();
        }

        Assert.True((await delivery.WaitAsync(Wait)).Acknowledge);
        Assert.Equal(1, handled);
        Assert.True(store.FailedCompletions > 3, "the outage must outlast the quick retries");
        Assert.Equal(ClaimStatus.Completed, (await store.TryClaimAsync("outage-group:key-1", TimeSpan.FromSeconds(2))).Status);
        await consumer.StopAsync(CancellationToken.None);
    }

    /// <summary>A store that is unreachable for completions and renewals until <see cref="DownUntil"/>.</summary>
    private sealed class OutageStore(IIdempotencyStore inner, TimeProvider time) : IIdempotencyStore
    {
        public DateTimeOffset DownUntil { get; set; } = DateTimeOffset.MinValue;

        public int FailedCompletions { get; private set; }

        public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default) =>
            inner.TryClaimAsync(key, lease, cancellationToken);

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
        {
            if (time.GetUtcNow() < DownUntil)
            {
                FailedCompletions++;
                throw new IdempotencyStoreUnavailableException("down");
            }

            return inner.CompleteAsync(key, fencingToken, retention, cancellationToken);
        }

        public ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default) =>
            time.GetUtcNow() < DownUntil ? throw new IdempotencyStoreUnavailableException("down") : inner.RenewAsync(key, fencingToken, lease, cancellationToken);

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default) =>
            inner.ReleaseAsync(key, fencingToken, cancellationToken);
    }
}
