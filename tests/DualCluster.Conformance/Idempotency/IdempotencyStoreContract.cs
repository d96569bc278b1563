using System.Diagnostics;
using DualCluster.Idempotency;

namespace DualCluster.Conformance.Idempotency;

/// <summary>
/// The behaviour every <see cref="IIdempotencyStore"/> shares. Derive one small class per store. Time-dependent tests
/// use <see cref="ShortTime"/> as lease or retention, call <see cref="LetTimePass"/> (stores on a fake clock advance
/// it) and then poll with a bounded deadline until the store shows the expiry (stores on the server's clock).
/// </summary>
public abstract class IdempotencyStoreContract
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>The store under test (a fresh or shared one; tests use unique keys).</summary>
    protected abstract IIdempotencyStore Store { get; }

    /// <summary>A lease or retention that expiry tests wait out.</summary>
    protected virtual TimeSpan ShortTime => TimeSpan.FromMilliseconds(400);

    /// <summary>A lease or retention no test outlives.</summary>
    protected virtual TimeSpan LongTime => TimeSpan.FromMinutes(10);

    /// <summary>Makes <paramref name="duration"/> pass for the store: a fake clock is advanced; a real one needs nothing.</summary>
    protected virtual void LetTimePass(TimeSpan duration)
    {
    }

    /// <summary>A key no other test uses.</summary>
    protected static string NewKey(string what = "key") => $"contract:{what}:{Guid.NewGuid():N}";

    /// <summary>Calls <paramref name="probe"/> until <paramref name="done"/> holds, or fails after a generous deadline.</summary>
    protected static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {Deadline} waiting until {what}; last answer: {value}.");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Waits (by the store's clock) until a claim made just before this call would have expired.</summary>
    protected async Task WaitOutShortLeaseAsync()
    {
        var marker = NewKey("marker");
        var first = await Store.TryClaimAsync(marker, ShortTime);
        Assert.Equal(ClaimStatus.Acquired, first.Status);
        LetTimePass(ShortTime + TimeSpan.FromMilliseconds(1));
        await EventuallyAsync(() => Store.TryClaimAsync(marker, LongTime).AsTask(), c => c.Status == ClaimStatus.Acquired, "the marker's lease expired");
    }

    /// <summary>
    /// Claims a new key for <see cref="ShortTime"/> and renews the claim for <see cref="LongTime"/> while the short lease
    /// is live. On a busy machine more than the short lease may pass between the two calls (a stop-the-world pause):
    /// a try whose renewal failed is inconclusive, and made again with a fresh key, only when the client saw at least
    /// the short lease pass between sending the claim and hearing the renewal's answer.
    /// </summary>
    protected async Task<(string Key, IdempotencyClaim Claim)> ClaimShortAndRenewAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var key = NewKey("renewed");
            var started = Stopwatch.GetTimestamp();
            var claim = await Store.TryClaimAsync(key, ShortTime);
            Assert.Equal(ClaimStatus.Acquired, claim.Status);
            if (await Store.RenewAsync(key, claim.FencingToken, LongTime))
            {
                return (key, claim);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            Assert.True(
                elapsed >= ShortTime && attempt < 5,
                $"the holder could not renew its live claim (try {attempt}, answered {elapsed.TotalMilliseconds:F0} ms after claiming for {ShortTime.TotalMilliseconds:F0} ms)");
        }
    }

    [Fact]
    public async Task Unknown_key_is_acquired_with_a_positive_token()
    {
        var claim = await Store.TryClaimAsync(NewKey(), LongTime);

        Assert.Equal(ClaimStatus.Acquired, claim.Status);
        Assert.True(claim.FencingToken > 0);
        Assert.False(claim.PayloadMismatch);
    }

    [Fact]
    public async Task Key_under_a_live_lease_is_held_elsewhere()
    {
        var key = NewKey();
        await Store.TryClaimAsync(key, LongTime);

        var second = await Store.TryClaimAsync(key, LongTime);

        Assert.Equal(ClaimStatus.HeldElsewhere, second.Status);
        Assert.Equal(0, second.FencingToken);
    }

    [Fact]
    public async Task Completed_key_answers_completed_to_every_later_claim()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);

        Assert.True(await Store.CompleteAsync(key, claim.FencingToken, LongTime));

        Assert.Equal(ClaimStatus.Completed, (await Store.TryClaimAsync(key, LongTime)).Status);
        Assert.Equal(ClaimStatus.Completed, (await Store.TryClaimAsync(key, LongTime)).Status);
    }

    [Fact]
    public async Task Completing_again_with_the_same_token_is_reported_as_success()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);
        await Store.CompleteAsync(key, claim.FencingToken, LongTime);

        Assert.True(await Store.CompleteAsync(key, claim.FencingToken, LongTime));
    }

    [Fact]
    public async Task Released_key_is_claimable_at_once_with_a_greater_token()
    {
        var key = NewKey();
        var first = await Store.TryClaimAsync(key, LongTime);

        Assert.True(await Store.ReleaseAsync(key, first.FencingToken));
        var second = await Store.TryClaimAsync(key, LongTime);

        Assert.Equal(ClaimStatus.Acquired, second.Status);
        Assert.True(second.FencingToken > first.FencingToken, $"token {second.FencingToken} must exceed {first.FencingToken}");
    }

    [Fact]
    public async Task Completed_key_cannot_be_released()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);
        await Store.CompleteAsync(key, claim.FencingToken, LongTime);

        Assert.False(await Store.ReleaseAsync(key, claim.FencingToken));
        Assert.Equal(ClaimStatus.Completed, (await Store.TryClaimAsync(key, LongTime)).Status);
    }

    [Fact]
    public async Task Wrong_token_can_neither_complete_nor_release()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);

        Assert.False(await Store.CompleteAsync(key, claim.FencingToken + 1, LongTime));
        Assert.False(await Store.ReleaseAsync(key, claim.FencingToken + 1));
        Assert.Equal(ClaimStatus.HeldElsewhere, (await Store.TryClaimAsync(key, LongTime)).Status);
        Assert.True(await Store.CompleteAsync(key, claim.FencingToken, LongTime));
    }

    [Fact]
    public async Task Unknown_key_can_neither_be_completed_nor_released()
    {
        Assert.False(await Store.CompleteAsync(NewKey(), 42, LongTime));
        Assert.False(await Store.ReleaseAsync(NewKey(), 42));
    }

    [Fact]
    public async Task Empty_key_is_rejected_before_any_io()
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.TryClaimAsync(string.Empty, LongTime).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.CompleteAsync(string.Empty, 1, LongTime).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.ReleaseAsync(string.Empty, 1).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.RenewAsync(string.Empty, 1, LongTime).AsTask());
    }

    [Fact]
    public async Task Renewal_without_a_positive_lease_is_rejected_before_any_io()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.RenewAsync(key, claim.FencingToken, TimeSpan.Zero).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.RenewAsync(key, claim.FencingToken, TimeSpan.FromSeconds(-1)).AsTask());
        Assert.True(await Store.CompleteAsync(key, claim.FencingToken, LongTime));
    }

    [Fact]
    public async Task Holder_that_renews_keeps_the_key_past_its_original_lease()
    {
        var (key, claim) = await ClaimShortAndRenewAsync();

        await WaitOutShortLeaseAsync();

        Assert.Equal(ClaimStatus.HeldElsewhere, (await Store.TryClaimAsync(key, LongTime)).Status);
        Assert.True(await Store.RenewAsync(key, claim.FencingToken, LongTime));
        Assert.True(await Store.CompleteAsync(key, claim.FencingToken, LongTime));
        Assert.Equal(ClaimStatus.Completed, (await Store.TryClaimAsync(key, LongTime)).Status);
    }

    [Fact]
    public async Task Wrong_or_stale_token_cannot_renew()
    {
        var key = NewKey();
        var stale = await Store.TryClaimAsync(key, ShortTime);
        LetTimePass(ShortTime + TimeSpan.FromMilliseconds(1));
        var current = await EventuallyAsync(() => Store.TryClaimAsync(key, LongTime).AsTask(), c => c.Status == ClaimStatus.Acquired, "the lease expired");

        Assert.False(await Store.RenewAsync(key, stale.FencingToken, LongTime));
        Assert.False(await Store.RenewAsync(key, current.FencingToken + 1, LongTime));
        Assert.Equal(ClaimStatus.HeldElsewhere, (await Store.TryClaimAsync(key, LongTime)).Status);
        Assert.True(await Store.CompleteAsync(key, current.FencingToken, LongTime));
    }

    [Fact]
    public async Task Completed_key_cannot_be_renewed()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);
        Assert.True(await Store.CompleteAsync(key, claim.FencingToken, LongTime));

        Assert.False(await Store.RenewAsync(key, claim.FencingToken, LongTime));
        Assert.Equal(ClaimStatus.Completed, (await Store.TryClaimAsync(key, LongTime)).Status);
    }

    [Fact]
    public async Task Completed_key_is_still_forgotten_after_its_retention_when_the_holder_renewed_before_completing()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);
        Assert.True(await Store.RenewAsync(key, claim.FencingToken, LongTime));
        Assert.True(await Store.CompleteAsync(key, claim.FencingToken, ShortTime));

        LetTimePass(ShortTime + TimeSpan.FromMilliseconds(1));
        var again = await EventuallyAsync(() => Store.TryClaimAsync(key, LongTime).AsTask(), c => c.Status != ClaimStatus.Completed, "the retention ended");

        Assert.Equal(ClaimStatus.Acquired, again.Status);
    }

    [Fact]
    public async Task Holder_whose_lease_lapsed_cannot_renew_it()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, ShortTime);

        await WaitOutShortLeaseAsync();

        Assert.False(await Store.RenewAsync(key, claim.FencingToken, LongTime));
        Assert.Equal(ClaimStatus.Acquired, (await Store.TryClaimAsync(key, LongTime)).Status);
    }

    [Fact]
    public async Task Released_key_cannot_be_renewed()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);
        Assert.True(await Store.ReleaseAsync(key, claim.FencingToken));

        Assert.False(await Store.RenewAsync(key, claim.FencingToken, LongTime));
        Assert.Equal(ClaimStatus.Acquired, (await Store.TryClaimAsync(key, LongTime)).Status);
    }

    [Fact]
    public async Task Unknown_key_cannot_be_renewed()
    {
        Assert.False(await Store.RenewAsync(NewKey(), 42, LongTime));
    }

    [Fact]
    public async Task Expired_lease_is_taken_over_with_a_greater_token()
    {
        var key = NewKey();
        var first = await Store.TryClaimAsync(key, ShortTime);

        LetTimePass(ShortTime + TimeSpan.FromMilliseconds(1));
        var second = await EventuallyAsync(() => Store.TryClaimAsync(key, LongTime).AsTask(), c => c.Status == ClaimStatus.Acquired, "the lease expired");

        Assert.True(second.FencingToken > first.FencingToken, $"token {second.FencingToken} must exceed {first.FencingToken}");
    }

    [Fact]
    public async Task Stale_holder_can_neither_complete_nor_release_after_a_takeover()
    {
        var key = NewKey();
        var stale = await Store.TryClaimAsync(key, ShortTime);
        LetTimePass(ShortTime + TimeSpan.FromMilliseconds(1));
        var current = await EventuallyAsync(() => Store.TryClaimAsync(key, LongTime).AsTask(), c => c.Status == ClaimStatus.Acquired, "the lease expired");

        Assert.False(await Store.CompleteAsync(key, stale.FencingToken, LongTime));
        Assert.False(await Store.ReleaseAsync(key, stale.FencingToken));
        Assert.Equal(ClaimStatus.HeldElsewhere, (await Store.TryClaimAsync(key, LongTime)).Status);
        Assert.True(await Store.CompleteAsync(key, current.FencingToken, LongTime));
    }

    [Fact]
    public async Task Holder_whose_lease_lapsed_cannot_complete_even_without_a_takeover()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, ShortTime);

        await WaitOutShortLeaseAsync();

        Assert.False(await Store.CompleteAsync(key, claim.FencingToken, LongTime));
        Assert.False(await Store.ReleaseAsync(key, claim.FencingToken));
        Assert.Equal(ClaimStatus.Acquired, (await Store.TryClaimAsync(key, LongTime)).Status);
    }

    [Fact]
    public async Task Completed_key_is_forgotten_after_its_retention()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);
        await Store.CompleteAsync(key, claim.FencingToken, ShortTime);

        LetTimePass(ShortTime + TimeSpan.FromMilliseconds(1));
        var again = await EventuallyAsync(() => Store.TryClaimAsync(key, LongTime).AsTask(), c => c.Status != ClaimStatus.Completed, "the retention ended");

        Assert.Equal(ClaimStatus.Acquired, again.Status);
        Assert.True(again.FencingToken > claim.FencingToken);
    }

    [Fact]
    public async Task Concurrent_racers_for_one_key_have_exactly_one_winner()
    {
        const int racers = 32;
        var key = NewKey();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, racers).Select(_ => Task.Run(async () =>
        {
            await start.Task;
            return await Store.TryClaimAsync(key, LongTime);
        })).ToArray();

        start.SetResult();
        var claims = await Task.WhenAll(tasks).WaitAsync(Deadline);

        Assert.Single(claims, c => c.Status == ClaimStatus.Acquired);
        Assert.Equal(racers - 1, claims.Count(c => c.Status == ClaimStatus.HeldElsewhere));
    }

    [Fact]
    public async Task Many_keys_processed_in_parallel_are_each_acquired_once_and_completed()
    {
        var keys = Enumerable.Range(0, 400).Select(i => NewKey($"many{i}")).ToArray();
        var acquired = 0;

        await Parallel.ForEachAsync(keys.Concat(keys), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, ct) =>
        {
            var claim = await Store.TryClaimAsync(key, LongTime, ct);
            if (claim.Status == ClaimStatus.Acquired)
            {
                Interlocked.Increment(ref acquired);
                Assert.True(await Store.CompleteAsync(key, claim.FencingToken, LongTime, ct));
            }
        }).WaitAsync(Deadline);

        Assert.Equal(keys.Length, acquired);
        foreach (var key in keys)
        {
            Assert.Equal(ClaimStatus.Completed, (await Store.TryClaimAsync(key, LongTime)).Status);
        }
    }

    [Fact]
    public async Task Same_key_with_a_different_payload_is_reported_as_a_mismatch()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(IdempotencyClaimRequest.ForPayload(key, "order 1"u8), LongTime);
        Assert.Equal(ClaimStatus.Acquired, claim.Status);

        var whileHeld = await Store.TryClaimAsync(IdempotencyClaimRequest.ForPayload(key, "order 2"u8), LongTime);
        await Store.CompleteAsync(key, claim.FencingToken, LongTime);
        var sameBody = await Store.TryClaimAsync(IdempotencyClaimRequest.ForPayload(key, "order 1"u8), LongTime);
        var otherBody = await Store.TryClaimAsync(IdempotencyClaimRequest.ForPayload(key, "order 2"u8), LongTime);
        var noHash = await Store.TryClaimAsync(key, LongTime);

        Assert.Equal(IdempotencyClaim.HeldElsewhere with { PayloadMismatch = true }, whileHeld);
        Assert.Equal(IdempotencyClaim.Completed, sameBody);
        Assert.Equal(IdempotencyClaim.Completed with { PayloadMismatch = true }, otherBody);
        Assert.Equal(IdempotencyClaim.Completed, noHash);
    }

    [Fact]
    public async Task Key_claimed_without_a_hash_reports_no_mismatch()
    {
        var key = NewKey();
        var claim = await Store.TryClaimAsync(key, LongTime);
        await Store.CompleteAsync(key, claim.FencingToken, LongTime);

        Assert.Equal(IdempotencyClaim.Completed, await Store.TryClaimAsync(IdempotencyClaimRequest.ForPayload(key, "x"u8), LongTime));
    }

    [Fact]
    public async Task Batch_claim_answers_each_key_in_order()
    {
        var fresh = NewKey("fresh");
        var held = NewKey("held");
        var done = NewKey("done");
        await Store.TryClaimAsync(held, LongTime);
        var doneClaim = await Store.TryClaimAsync(done, LongTime);
        await Store.CompleteAsync(done, doneClaim.FencingToken, LongTime);

        var claims = await Store.TryClaimManyAsync([new(fresh), new(held), new(done), new(fresh)], LongTime);

        Assert.Equal(
            [ClaimStatus.Acquired, ClaimStatus.HeldElsewhere, ClaimStatus.Completed, ClaimStatus.HeldElsewhere],
            claims.Select(c => c.Status).ToArray());
        Assert.True(await Store.CompleteAsync(fresh, claims[0].FencingToken, LongTime));
    }

    [Fact]
    public async Task Batch_completion_succeeds_only_for_current_holders()
    {
        var a = NewKey("a");
        var b = NewKey("b");
        var claimA = await Store.TryClaimAsync(a, LongTime);
        var claimB = await Store.TryClaimAsync(b, LongTime);

        var results = await Store.CompleteManyAsync([new(a, claimA.FencingToken), new(b, claimB.FencingToken + 1), new(NewKey(), 7)], LongTime);

        Assert.Equal([true, false, false], results.ToArray());
        Assert.Equal(ClaimStatus.Completed, (await Store.TryClaimAsync(a, LongTime)).Status);
        Assert.Equal(ClaimStatus.HeldElsewhere, (await Store.TryClaimAsync(b, LongTime)).Status);
    }

    [Fact]
    public async Task Empty_batch_answers_empty()
    {
        Assert.Empty(await Store.TryClaimManyAsync([], LongTime));
        Assert.Empty(await Store.CompleteManyAsync([], LongTime));
    }
}
