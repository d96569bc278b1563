namespace DualCluster.Idempotency;

/// <summary>The answer of <see cref="IIdempotencyStore.TryClaimAsync(string, TimeSpan, CancellationToken)"/>.</summary>
/// <param name="Status">Whether the caller got the key.</param>
/// <param name="FencingToken">The caller's token when <see cref="ClaimStatus.Acquired"/>; otherwise 0.</param>
public readonly record struct IdempotencyClaim(ClaimStatus Status, long FencingToken)
{
    /// <summary>A claim held elsewhere.</summary>
    public static IdempotencyClaim HeldElsewhere => new(ClaimStatus.HeldElsewhere, 0);

    /// <summary>A key already processed.</summary>
    public static IdempotencyClaim Completed => new(ClaimStatus.Completed, 0);

    /// <summary>
    /// True when the claim carried a payload hash (<see cref="IdempotencyClaimRequest.PayloadHash"/>) and the key was
    /// first claimed with a different one: the same idempotency key arrived with a different body. Only set on
    /// <see cref="ClaimStatus.Completed"/> and <see cref="ClaimStatus.HeldElsewhere"/> answers; report it rather
    /// than silently skipping the message.
    /// </summary>
    public bool PayloadMismatch { get; init; }

    /// <summary>A key acquired with <paramref name="fencingToken"/>.</summary>
    public static IdempotencyClaim Acquired(long fencingToken) => new(ClaimStatus.Acquired, fencingToken);
}

/// <summary>The state of a key as seen by a claimer.</summary>
public enum ClaimStatus
{
    /// <summary>The caller holds the key and should run the handler.</summary>
    Acquired,

    /// <summary>The key was processed already: a duplicate; ack and skip.</summary>
    Completed,

    /// <summary>Another node holds a live lease on the key: do not ack, let the broker redeliver later.</summary>
    HeldElsewhere,
}
