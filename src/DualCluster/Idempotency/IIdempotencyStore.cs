namespace DualCluster.Idempotency;

/// <summary>
/// Remembers which messages a consumer group has processed, so a redelivered or double-written message
/// never runs its handler twice. The contract (every implementation passes the same contract tests):
/// <list type="bullet">
/// <item><see cref="TryClaimAsync(string, TimeSpan, CancellationToken)"/> on an unknown key, or on a key whose lease
/// (or whose retention after completion) expired, acquires it with a fencing token strictly greater than any token
/// issued before for that key.</item>
/// <item>On a key completed within its retention it returns <see cref="ClaimStatus.Completed"/>.</item>
/// <item>On a key held under a live lease it returns <see cref="ClaimStatus.HeldElsewhere"/>.</item>
/// <item><see cref="CompleteAsync"/> and <see cref="ReleaseAsync"/> succeed only for the current token holder while
/// its lease is live, so a node whose lease expired (whether or not another node took the key over) cannot complete
/// or release the key.</item>
/// </list>
/// Implementations are thread-safe. A store that cannot be reached throws (any exception; the built-in stores throw
/// <see cref="IdempotencyStoreUnavailableException"/>); the gate then acks nothing.
/// </summary>
public interface IIdempotencyStore
{
    /// <summary>Tries to claim <paramref name="key"/> for processing for the length of <paramref name="lease"/>.</summary>
    /// <param name="key">The scoped idempotency key (the gate prefixes the consumer group).</param>
    /// <param name="lease">How long the claim protects the key if the holder neither completes nor releases it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default);

    /// <summary>Marks the claim as done; the key then answers <see cref="ClaimStatus.Completed"/> for <paramref name="retention"/>.</summary>
    /// <returns>True when the caller held the claim (or had already completed it); false when its token is stale or its lease lapsed.</returns>
    ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default);

    /// <summary>
    /// Extends the lease of a claim the caller still holds to <paramref name="lease"/> from now, so a handler that runs
    /// longer than the lease keeps the key (the gate renews while the handler runs). Succeeds only for the current token
    /// holder while its lease is live and the key is not completed. The default implementation cannot renew and answers
    /// false: with such a store a handler slower than the lease may run twice.
    /// </summary>
    /// <returns>True when the lease was extended.</returns>
    ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default)
        => new(false);

    /// <summary>Gives the claim up after a failed handler so a redelivery can claim it at once.</summary>
    /// <returns>True when the caller held the claim; false when its token is stale, its lease lapsed or it was completed.</returns>
    ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tries to claim <see cref="IdempotencyClaimRequest.Key"/> and, when the request carries a
    /// <see cref="IdempotencyClaimRequest.PayloadHash"/>, compares it with the hash recorded by the first claimer:
    /// a different hash sets <see cref="IdempotencyClaim.PayloadMismatch"/> on a <see cref="ClaimStatus.Completed"/> or
    /// <see cref="ClaimStatus.HeldElsewhere"/> answer (the same key was reused for a different body). An acquired claim
    /// records the hash. The default implementation ignores the hash; every built-in store overrides it.
    /// </summary>
    ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default)
        => TryClaimAsync(request.Key, lease, cancellationToken);

    /// <summary>
    /// Claims many keys at once (a consumer that received a batch), answering in the order of <paramref name="requests"/>.
    /// Each answer means exactly what <see cref="TryClaimAsync(IdempotencyClaimRequest, TimeSpan, CancellationToken)"/>
    /// would have answered; remote stores send the batch in one round trip (pipelined). The default implementation
    /// claims one key after the other. A duplicate key within one batch is acquired at most once.
    /// </summary>
    /// <exception cref="Exception">The store is unreachable: no key of the batch may be assumed claimed.</exception>
    async ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var claims = new IdempotencyClaim[requests.Count];
        for (var i = 0; i < claims.Length; i++)
        {
            claims[i] = await TryClaimAsync(requests[i], lease, cancellationToken).ConfigureAwait(false);
        }

        return claims;
    }

    /// <summary>
    /// Completes many claims at once, answering in the order of <paramref name="completions"/> what
    /// <see cref="CompleteAsync"/> would have answered for each. Remote stores send the batch in one round trip.
    /// </summary>
    async ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var results = new bool[completions.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = await CompleteAsync(completions[i].Key, completions[i].FencingToken, retention, cancellationToken).ConfigureAwait(false);
        }

        return results;
    }
}
