using DualCluster.Idempotency;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Idempotency;

public sealed class InMemoryIdempotencyStoreClockTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_wall_clock_step_forward_does_not_lapse_a_lease()
    {
        var clock = new SteppingClock();
        using var store = new InMemoryIdempotencyStore(clock);
        var first = await store.TryClaimAsync("k", Lease);

        clock.StepWallClock(TimeSpan.FromHours(2));
        var second = await store.TryClaimAsync("k", Lease);

        Assert.Equal(ClaimStatus.Acquired, first.Status);
        Assert.Equal(ClaimStatus.HeldElsewhere, second.Status);
        Assert.True(await store.CompleteAsync("k", first.FencingToken, TimeSpan.FromDays(1)));
    }

    [Fact]
    public async Task A_lease_lapses_when_its_time_has_really_passed()
    {
        var clock = new SteppingClock();
        using var store = new InMemoryIdempotencyStore(clock);
        var first = await store.TryClaimAsync("k", Lease);

        clock.Elapse(Lease + TimeSpan.FromSeconds(1));
        var second = await store.TryClaimAsync("k", Lease);

        Assert.Equal(ClaimStatus.Acquired, second.Status);
        Assert.False(await store.CompleteAsync("k", first.FencingToken, TimeSpan.FromDays(1)));
    }

    /// <summary>Elapsed time moves both clocks; a wall-clock step (NTP, a resumed VM) moves only the wall clock.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private readonly FakeTimeProvider _elapsed = new();
        private TimeSpan _step;

        public void StepWallClock(TimeSpan step) => _step += step;

        public void Elapse(TimeSpan span) => _elapsed.Advance(span);

        public override DateTimeOffset GetUtcNow() => _elapsed.GetUtcNow() + _step;

        public override long GetTimestamp() => _elapsed.GetTimestamp();

        public override long TimestampFrequency => _elapsed.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => _elapsed.CreateTimer(callback, state, dueTime, period);
    }
}
