using DualCluster.Conformance.Idempotency;
using DualCluster.Idempotency;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Idempotency;

/// <summary>The local cache must not change what the store behind it promises.</summary>
public sealed class LocalCacheOverInMemoryContractTests : IdempotencyStoreContract, IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryIdempotencyStore _inner;
    private readonly LocalCacheIdempotencyStore _store;

    public LocalCacheOverInMemoryContractTests()
    {
        _inner = new InMemoryIdempotencyStore(_time);
        _store = new LocalCacheIdempotencyStore(_inner, new LocalCacheOptions { Enabled = true, Capacity = 100 }, _time);
    }

    protected override IIdempotencyStore Store => _store;

    protected override void LetTimePass(TimeSpan duration) => _time.Advance(duration);

    public void Dispose() => _inner.Dispose();
}
