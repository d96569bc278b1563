using DualCluster.Idempotency;

namespace DualCluster.Stores.Benchmarks;

/// <summary>The measured unit: claim a fresh key, then complete it (what the gate does per message).</summary>
internal static class StoreWorkload
{
    public const int PerCaller = 50;
    public const int Callers = 16;
    public const int BatchSize = 100;
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Retention = TimeSpan.FromMinutes(10);
    private static long s_next;

    private static string NextKey(string run) => $"{run}:{Interlocked.Increment(ref s_next)}";

    public static async Task ClaimAndCompleteAsync(IIdempotencyStore store, string run, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var key = NextKey(run);
            var claim = await store.TryClaimAsync(key, Lease).ConfigureAwait(false);
            if (claim.Status != ClaimStatus.Acquired || !await store.CompleteAsync(key, claim.FencingToken, Retention).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"Fresh key {key} was not claimed and completed: {claim}.");
            }
        }
    }

    public static Task ConcurrentAsync(IIdempotencyStore store, string run, int callers, int perCaller) =>
        Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(() => ClaimAndCompleteAsync(store, run, perCaller))));

    public static async Task BatchAsync(IIdempotencyStore store, string run, int size)
    {
        var requests = new IdempotencyClaimRequest[size];
        for (var i = 0; i < size; i++)
        {
            requests[i] = new IdempotencyClaimRequest(NextKey(run));
        }

        var claims = await store.TryClaimManyAsync(requests, Lease).ConfigureAwait(false);
        var completions = new IdempotencyCompletion[size];
        for (var i = 0; i < size; i++)
        {
            completions[i] = new IdempotencyCompletion(requests[i].Key, claims[i].FencingToken);
        }

        var done = await store.CompleteManyAsync(completions, Retention).ConfigureAwait(false);
        if (done.Any(d => !d))
        {
            throw new InvalidOperationException("A fresh key of the batch was not completed.");
        }
    }

    public static Task ConcurrentBatchesAsync(IIdempotencyStore store, string run, int callers, int size) =>
        Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(() => BatchAsync(store, run, size))));
}
