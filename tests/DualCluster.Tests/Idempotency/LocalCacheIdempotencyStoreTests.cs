using DualCluster.Idempotency;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace DualCluster.Tests.Idempotency;

public sealed class LocalCacheIdempotencyStoreTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Retention = TimeSpan.FromDays(1);
    private readonly FakeTimeProvider _time = new();
    private readonly Mock<IIdempotencyStore> _remote = new(MockBehavior.Strict);

    private LocalCacheIdempotencyStore CreateCache(int capacity = 100) =>
        new(_remote.Object, new LocalCacheOptions { Enabled = true, Capacity = capacity, MaxAge = TimeSpan.FromMinutes(1) }, _time);

    [Fact]
    public async Task Duplicate_of_a_key_completed_here_is_answered_without_asking_the_remote_store()
    {
        _remote.Setup(s => s.CompleteAsync("k", 7, Retention, default)).ReturnsAsync(true);
        var cache = CreateCache();
        await cache.CompleteAsync("k", 7, Retention);

        var claim = await cache.TryClaimAsync("k", Lease);

        Assert.Equal(IdempotencyClaim.Completed, claim);
        _remote.Verify(s => s.TryClaimAsync(It.IsAny<IdempotencyClaimRequest>(), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task Completed_answer_from_the_remote_store_is_cached()
    {
        _remote.Setup(s => s.TryClaimAsync(new IdempotencyClaimRequest("k"), Lease, default)).ReturnsAsync(IdempotencyClaim.Completed);
        var cache = CreateCache();

        await cache.TryClaimAsync("k", Lease);
        await cache.TryClaimAsync("k", Lease);

        _remote.Verify(s => s.TryClaimAsync(It.IsAny<IdempotencyClaimRequest>(), Lease, default), Times.Once);
    }

    [Fact]
    public async Task Cached_key_is_asked_again_after_max_age()
    {
        _remote.Setup(s => s.TryClaimAsync(new IdempotencyClaimRequest("k"), Lease, default)).ReturnsAsync(IdempotencyClaim.Completed);
        var cache = CreateCache();
        await cache.TryClaimAsync("k", Lease);

        _time.Advance(TimeSpan.FromMinutes(1));
        await cache.TryClaimAsync("k", Lease);

        _remote.Verify(s => s.TryClaimAsync(It.IsAny<IdempotencyClaimRequest>(), Lease, default), Times.Exactly(2));
    }

    [Fact]
    public async Task Keys_held_elsewhere_are_never_cached()
    {
        _remote.Setup(s => s.TryClaimAsync(new IdempotencyClaimRequest("k"), Lease, default)).ReturnsAsync(IdempotencyClaim.HeldElsewhere);
        var cache = CreateCache();

        await cache.TryClaimAsync("k", Lease);
        await cache.TryClaimAsync("k", Lease);

        _remote.Verify(s => s.TryClaimAsync(It.IsAny<IdempotencyClaimRequest>(), Lease, default), Times.Exactly(2));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task Cache_never_holds_more_than_its_capacity()
    {
        _remote.Setup(s => s.CompleteAsync(It.IsAny<string>(), 1, Retention, default)).ReturnsAsync(true);
        var cache = CreateCache(capacity: 10);

        for (var i = 0; i < 35; i++)
        {
            await cache.CompleteAsync($"k{i}", 1, Retention);
            Assert.InRange(cache.Count, 1, 10);
        }
    }

    [Fact]
    public async Task Unreachable_remote_store_fails_the_claim_of_an_uncached_key()
    {
        _remote.Setup(s => s.TryClaimAsync(It.IsAny<IdempotencyClaimRequest>(), Lease, default)).ThrowsAsync(new IdempotencyStoreUnavailableException("down"));
        var cache = CreateCache();

        await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(() => cache.TryClaimAsync("k", Lease).AsTask());
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new LocalCacheIdempotencyStore(_remote.Object, new LocalCacheOptions { Capacity = 0 }));
        Assert.Throws<ArgumentException>(() => new LocalCacheIdempotencyStore(_remote.Object, new LocalCacheOptions { MaxAge = TimeSpan.Zero }));
    }
}
