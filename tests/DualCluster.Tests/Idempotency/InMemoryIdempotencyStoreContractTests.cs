using DualCluster.Conformance.Idempotency;
using DualCluster.Idempotency;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Idempotency;

public sealed class InMemoryIdempotencyStoreContractTests : IdempotencyStoreContract, IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryIdempotencyStore _store;

    public InMemoryIdempotencyStoreContractTests() => _store = new InMemoryIdempotencyStore(_time);

    protected override IIdempotencyStore Store => _store;

    protected override void LetTimePass(TimeSpan duration) => _time.Advance(duration);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Sweep_removes_expired_records_so_memory_stays_bounded()
    {
        var claim = await _store.TryClaimAsync("a", TimeSpan.FromSeconds(1));
        await _store.CompleteAsync("a", claim.FencingToken, TimeSpan.FromSeconds(5));
        await _store.TryClaimAsync("b", TimeSpan.FromSeconds(1));

        _time.Advance(TimeSpan.FromSeconds(2));
        _store.Sweep();
        Assert.Equal(1, _store.Count);

        _time.Advance(TimeSpan.FromSeconds(4));
        _store.Sweep();
        Assert.Equal(0, _store.Count);
    }
}
