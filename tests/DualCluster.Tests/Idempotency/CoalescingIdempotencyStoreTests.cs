using DualCluster.Idempotency;

namespace DualCluster.Tests.Idempotency;

public sealed class CoalescingIdempotencyStoreTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_call_with_nothing_in_flight_goes_alone_at_once()
    {
        var inner = new RecordingStore();
        var store = new CoalescingIdempotencyStore(inner);

        var claim = await store.TryClaimAsync("k1", Lease);

        Assert.Equal(ClaimStatus.Acquired, claim.Status);
        Assert.Equal(["single:k1"], inner.Calls);
    }

    [Fact]
    public async Task Claims_arriving_while_the_calls_in_flight_are_at_the_limit_go_together_in_one_batch_call()
    {
        var hold = new TaskCompletionSource();
        var inner = new RecordingStore { HoldNext = hold };
        var store = new CoalescingIdempotencyStore(inner, maxConcurrentCalls: 1);

        var first = store.TryClaimAsync("k0", Lease).AsTask();
        var queued = Enumerable.Range(1, 5).Select(i => store.TryClaimAsync($"k{i}", Lease).AsTask()).ToArray();
        Assert.All(queued, t => Assert.False(t.IsCompleted));
        hold.SetResult();

        var claims = await Task.WhenAll(queued.Prepend(first)).WaitAsync(Safety);

        Assert.All(claims, c => Assert.Equal(ClaimStatus.Acquired, c.Status));
        Assert.Equal(["single:k0", "many:k1,k2,k3,k4,k5"], inner.Calls);
    }

    [Fact]
    public async Task Calls_go_alone_while_fewer_than_the_limit_are_in_flight()
    {
        var hold = new TaskCompletionSource();
        var inner = new RecordingStore { HoldNext = hold };
        var store = new CoalescingIdempotencyStore(inner, maxConcurrentCalls: 2);

        var first = store.TryClaimAsync("k0", Lease).AsTask();
        var second = await store.TryClaimAsync("k1", Lease).AsTask().WaitAsync(Safety);
        Assert.False(first.IsCompleted);
        hold.SetResult();
        await first.WaitAsync(Safety);

        Assert.Equal(ClaimStatus.Acquired, second.Status);
        Assert.Equal(["single:k0", "single:k1"], inner.Calls);
    }

    [Fact]
    public async Task Batches_never_exceed_the_maximum_and_never_mix_leases()
    {
        var hold = new TaskCompletionSource();
        var inner = new RecordingStore { HoldNext = hold };
        var store = new CoalescingIdempotencyStore(inner, maxBatchSize: 2, maxConcurrentCalls: 1);

        var first = store.TryClaimAsync("k0", Lease).AsTask();
        var queued = new[]
        {
            store.TryClaimAsync("a1", Lease).AsTask(),
            store.TryClaimAsync("b1", TimeSpan.FromSeconds(5)).AsTask(),
            store.TryClaimAsync("a2", Lease).AsTask(),
            store.TryClaimAsync("a3", Lease).AsTask(),
        };
        hold.SetResult();
        await Task.WhenAll(queued.Prepend(first)).WaitAsync(Safety);

        Assert.Equal(["single:k0", "many:a1,a2", "many:b1", "many:a3"], inner.Calls);
    }

    [Fact]
    public async Task A_failed_batch_fails_every_call_in_it_and_later_calls_still_work()
    {
        var hold = new TaskCompletionSource();
        var inner = new RecordingStore { HoldNext = hold, FailMany = true };
        var store = new CoalescingIdempotencyStore(inner, maxConcurrentCalls: 1);

        var first = store.TryClaimAsync("k0", Lease).AsTask();
        var queued = new[] { store.TryClaimAsync("k1", Lease).AsTask(), store.TryClaimAsync("k2", Lease).AsTask() };
        hold.SetResult();

        Assert.Equal(ClaimStatus.Acquired, (await first.WaitAsync(Safety)).Status);
        foreach (var call in queued)
        {
            await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(() => call.WaitAsync(Safety));
        }

        inner.FailMany = false;
        Assert.Equal(ClaimStatus.Acquired, (await store.TryClaimAsync("k3", Lease)).Status);
    }

    [Fact]
    public async Task Completions_are_batched_by_retention_and_answer_per_call()
    {
        var hold = new TaskCompletionSource();
        var inner = new RecordingStore { HoldNext = hold };
        var store = new CoalescingIdempotencyStore(inner, maxConcurrentCalls: 1);
        var retention = TimeSpan.FromDays(1);

        var first = store.CompleteAsync("k0", 1, retention).AsTask();
        var queued = new[] { store.CompleteAsync("k1", 1, retention).AsTask(), store.CompleteAsync("stale", 1, retention).AsTask() };
        hold.SetResult();
        var results = await Task.WhenAll(queued.Prepend(first)).WaitAsync(Safety);

        Assert.Equal([true, true, false], results);
        Assert.Equal(["complete:k0", "complete-many:k1,stale"], inner.Calls);
    }

    [Fact]
    public async Task Concurrent_racers_through_the_batcher_acquire_a_key_exactly_once()
    {
        using var inner = new InMemoryIdempotencyStore();
        var store = new CoalescingIdempotencyStore(inner);

        var claims = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => store.TryClaimAsync("contended", Lease).AsTask())));

        Assert.Single(claims, c => c.Status == ClaimStatus.Acquired);
        Assert.Equal(63, claims.Count(c => c.Status == ClaimStatus.HeldElsewhere));
    }

    [Fact]
    public async Task Two_calls_finishing_together_with_one_claim_queued_keep_every_slot()
    {
        // Two slot holders that finish together both see the queued claim; only one may flush it, and neither may
        // lose its slot (a lost slot silently drops the store's concurrency toward one, then to none).
        var inner = new GatedStore();
        var store = new CoalescingIdempotencyStore(inner, maxConcurrentCalls: 2);
        for (var round = 0; round < 50; round++)
        {
            var a = store.TryClaimAsync($"a{round}", Lease).AsTask();
            var b = store.TryClaimAsync($"b{round}", Lease).AsTask();
            var c = store.TryClaimAsync($"c{round}", Lease).AsTask();
            var held = await inner.TakeAsync(2).WaitAsync(Safety);

            // Released back to back on this thread: both continuations run inline, before any flush has started.
            held[0].SetResult();
            held[1].SetResult();
            var flush = await inner.TakeAsync(1).WaitAsync(Safety);
            flush[0].SetResult();
            await Task.WhenAll(a, b, c).WaitAsync(Safety);

            // Both slots are free again: two new calls go to the store at once, each alone.
            var d = store.TryClaimAsync($"d{round}", Lease).AsTask();
            var e = store.TryClaimAsync($"e{round}", Lease).AsTask();
            var both = await inner.TakeAsync(2).WaitAsync(Safety);
            foreach (var gate in both)
            {
                gate.SetResult();
            }

            await Task.WhenAll(d, e).WaitAsync(Safety);
        }

        Assert.Equal(0, inner.EmptyBatches);
    }

    /// <summary>Every call waits for a gate the test opens; the gates come out in call order.</summary>
    private sealed class GatedStore : IIdempotencyStore
    {
        private readonly System.Threading.Channels.Channel<TaskCompletionSource> _gates = System.Threading.Channels.Channel.CreateUnbounded<TaskCompletionSource>();
        private long _token;

        public int EmptyBatches { get; private set; }

        public async Task<TaskCompletionSource[]> TakeAsync(int count)
        {
            var taken = new TaskCompletionSource[count];
            for (var i = 0; i < count; i++)
            {
                taken[i] = await _gates.Reader.ReadAsync();
            }

            return taken;
        }

        public async ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            await WaitAsync();
            return IdempotencyClaim.Acquired(Interlocked.Increment(ref _token));
        }

        public async ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            if (requests.Count == 0)
            {
                EmptyBatches++;
            }

            await WaitAsync();
            return requests.Select(_ => IdempotencyClaim.Acquired(Interlocked.Increment(ref _token))).ToArray();
        }

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default) => new(true);

        public ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
            => new(completions.Select(_ => true).ToArray());

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default) => new(true);

        private Task WaitAsync()
        {
            // Continuations run inline when the test opens the gate (no RunContinuationsAsynchronously).
            var gate = new TaskCompletionSource();
            _gates.Writer.TryWrite(gate);
            return gate.Task;
        }
    }

    /// <summary>Records calls; the first call waits for <see cref="HoldNext"/> so others queue behind it.</summary>
    private sealed class RecordingStore : IIdempotencyStore
    {
        private long _token;

        public TaskCompletionSource? HoldNext { get; set; }

        public bool FailMany { get; set; }

        public List<string> Calls { get; } = [];

        public async ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            Record($"single:{key}");
            await HoldAsync();
            return IdempotencyClaim.Acquired(Interlocked.Increment(ref _token));
        }

        public async ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            Record($"many:{string.Join(',', requests.Select(r => r.Key))}");
            await HoldAsync();
            if (FailMany)
            {
                throw new IdempotencyStoreUnavailableException("down");
            }

            return requests.Select(_ => IdempotencyClaim.Acquired(Interlocked.Increment(ref _token))).ToArray();
        }

        public async ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
        {
            Record($"complete:{key}");
            await HoldAsync();
            return key != "stale";
        }

        public async ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
        {
            Record($"complete-many:{string.Join(',', completions.Select(c => c.Key))}");
            await HoldAsync();
            return completions.Select(c => c.Key != "stale").ToArray();
        }

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default) => new(true);

        private void Record(string call)
        {
            lock (Calls)
            {
                Calls.Add(call);
            }
        }

        private Task HoldAsync()
        {
            var hold = HoldNext;
            HoldNext = null;
            return hold?.Task ?? Task.CompletedTask;
        }
    }
}
