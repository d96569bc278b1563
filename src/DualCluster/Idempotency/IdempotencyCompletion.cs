namespace DualCluster.Idempotency;

/// <summary>One claim to complete in <see cref="IIdempotencyStore.CompleteManyAsync"/>.</summary>
/// <param name="Key">The key claimed.</param>
/// <param name="FencingToken">The token the claim returned.</param>
public readonly record struct IdempotencyCompletion(string Key, long FencingToken);
