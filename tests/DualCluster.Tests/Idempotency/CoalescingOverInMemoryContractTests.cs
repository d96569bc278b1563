using DualCluster.Conformance.Idempotency;
using DualCluster.Idempotency;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Idempotency;

/// <summary>Batching concurrent calls must not change what the store behind it promises.</summary>
public sealed class CoalescingOverInMemoryContractTests : IdempotencyStoreContract, IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryIdempotencyStore _inner;
    private readonly CoalescingIdempotencyStore _store;

    public CoalescingOverInMemoryContractTests()
    {
        _inner = new InMemoryIdempotencyStore(_time);
        _store = new CoalescingIdempotencyStore(_inner, maxBatchSize: 8);
    }

    protected override IIdempotencyStore Store => _store;

    protected override void LetTimePass(TimeSpan duration) => _time.Advance(duration);

    public void Dispose() => _inner.Dispose();
}
