namespace DualCluster.Idempotency;

/// <summary>
/// Remembers which messages a consumer group has processed, so a redelivered or double-written message
/// never runs its handler twice. The contract (every implementation passes the same contract tests):
/// <list type="bullet">
/// <item><see cref="TryClaimAsync"/> on an unknown key, or on a key whose lease expired, acquires it with a
/// fencing token strictly greater than any token issued before for that key.</item>
/// <item>On a key completed within its retention it returns <see cref="ClaimStatus.Completed"/>.</item>
/// <item>On a key held under a live lease it returns <see cref="ClaimStatus.HeldElsewhere"/>.</item>
/// <item><see cref="CompleteAsync"/> and <see cref="ReleaseAsync"/> succeed only for the current token holder,
/// so a node whose lease expired and was taken over cannot complete or release the new holder's claim.</item>
/// </list>
/// Implementations are thread-safe. A store that cannot be reached throws (any exception); the gate then
/// acks nothing.
/// </summary>
public interface IIdempotencyStore
{
    /// <summary>Tries to claim <paramref name="key"/> for processing for the length of <paramref name="lease"/>.</summary>
    /// <param name="key">The scoped idempotency key (the gate prefixes the consumer group).</param>
    /// <param name="lease">How long the claim protects the key if the holder neither completes nor releases it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default);

    /// <summary>Marks the claim as done; the key then answers <see cref="ClaimStatus.Completed"/> for <paramref name="retention"/>.</summary>
    /// <returns>True when the caller held the claim (or had already completed it); false when its token is stale.</returns>
    ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default);

    /// <summary>Gives the claim up after a failed handler so a redelivery can claim it at once.</summary>
    /// <returns>True when the caller held the claim; false when its token is stale.</returns>
    ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default);
}
