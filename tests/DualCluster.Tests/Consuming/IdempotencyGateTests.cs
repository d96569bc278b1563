using DualCluster.Consuming;
using DualCluster.Idempotency;
using DualCluster.Telemetry;
using DualCluster.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Consuming;

/// <summary>The gate's handling of cancellation and disposal (issue 13, findings 4 and the gate's stop contract).</summary>
public sealed class IdempotencyGateTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly IdempotencyOptions Options = new();

    private static ReceivedMessage Message(string key) =>
        new(ClusterRole.Old, "orders", "msg-1", new byte[] { 1 }, 1, properties: new Dictionary<string, string> { [MessageProperties.IdempotencyKey] = key });

    [Fact]
    public async Task A_stop_that_arrives_while_the_claim_is_recorded_gives_the_claim_back()
    {
        var inner = new InMemoryIdempotencyStore();
        var store = new ClaimThenNoticeCancellation(inner);
        var gate = new IdempotencyGate(store, new DualClusterMetrics(), NullLogger.Instance);
        using var stopping = new CancellationTokenSource();
        store.BeforeAnswer = () => stopping.Cancel();
        var handled = 0;

        var outcome = await gate.RunAsync(Message("k1"), "g", Options, null, (_, _, _) => { handled++; return Task.CompletedTask; }, stopping.Token);

        Assert.False(outcome.Acknowledge);
        Assert.Equal(0, handled);
        // Nobody holds the key: the redelivered copy is not made to wait out the lease.
        var again = await inner.TryClaimAsync("g:k1", TimeSpan.FromMinutes(5));
        Assert.Equal(ClaimStatus.Acquired, again.Status);
    }

    [Fact]
    public async Task Disposing_the_gate_waits_for_runs_in_flight_to_complete_their_claims()
    {
        var store = new InMemoryIdempotencyStore();
        var gate = new IdempotencyGate(store, new DualClusterMetrics(), NullLogger.Instance);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = gate.RunAsync(Message("k2"), "g", Options, null, async (_, _, _) => { entered.SetResult(); await release.Task; }, CancellationToken.None).AsTask();
        await entered.Task.WaitAsync(Wait);
        Assert.Equal(1, gate.InFlight);

        var disposing = gate.DisposeAsync().AsTask();
        var stateWhenDisposed = disposing.ContinueWith(_ => store.TryClaimAsync("g:k2", TimeSpan.FromMinutes(5)).AsTask(), TaskScheduler.Default).Unwrap();
        await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromMilliseconds(300)));
        release.SetResult();

        Assert.Equal(ConsumeOutcome.Ack, await run.WaitAsync(Wait));
        Assert.Equal(ClaimStatus.Completed, (await stateWhenDisposed.WaitAsync(Wait)).Status);
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public async Task A_short_store_outage_is_ridden_out_in_hand_without_spending_a_delivery_attempt()
    {
        var time = new FakeTimeProvider();
        var store = new FlakyStore(new InMemoryIdempotencyStore(time), failures: 3);
        var gate = new IdempotencyGate(store, new DualClusterMetrics(), NullLogger.Instance, time);
        var handled = 0;
        var options = new IdempotencyOptions { StoreOutageHold = TimeSpan.FromSeconds(10) };

        var run = gate.RunAsync(Message("k3"), "g", options, null, (_, _, _) => { handled++; return Task.CompletedTask; }, CancellationToken.None).AsTask();
        await DriveAsync(time, run);

        Assert.Equal(ConsumeOutcome.Ack, await run.WaitAsync(Wait));
        Assert.Equal(1, handled);
        Assert.Equal(4, store.Calls);
    }

    [Fact]
    public async Task A_store_outage_longer_than_the_hold_hands_the_message_back()
    {
        var time = new FakeTimeProvider();
        var store = new FlakyStore(new InMemoryIdempotencyStore(time), failures: int.MaxValue);
        var gate = new IdempotencyGate(store, new DualClusterMetrics(), NullLogger.Instance, time);
        var options = new IdempotencyOptions { StoreOutageHold = TimeSpan.FromSeconds(5) };
        var handled = 0;

        var run = gate.RunAsync(Message("k4"), "g", options, null, (_, _, _) => { handled++; return Task.CompletedTask; }, CancellationToken.None).AsTask();
        await DriveAsync(time, run);

        var outcome = await run.WaitAsync(Wait);
        Assert.False(outcome.Acknowledge);
        Assert.Equal(IdempotencyGate.Postponement(options, 1), outcome.RetryDelay);
        Assert.Equal(0, handled);
        Assert.InRange(store.Calls, 3, 10);
    }

    [Fact]
    public async Task A_message_is_never_held_longer_than_half_its_invisible_duration()
    {
        var time = new FakeTimeProvider();
        var store = new FlakyStore(new InMemoryIdempotencyStore(time), failures: int.MaxValue);
        var gate = new IdempotencyGate(store, new DualClusterMetrics(), NullLogger.Instance, time);
        var options = new IdempotencyOptions { StoreOutageHold = TimeSpan.FromMinutes(1) };
        var started = time.GetTimestamp();

        var run = gate.RunAsync(Message("k6"), "g", options, null, (_, _, _) => Task.CompletedTask, CancellationToken.None, maxHold: TimeSpan.FromSeconds(1)).AsTask();
        await DriveAsync(time, run);

        Assert.False((await run.WaitAsync(Wait)).Acknowledge);
        Assert.True(time.GetElapsedTime(started) < TimeSpan.FromSeconds(2), $"held for {time.GetElapsedTime(started)}");
    }

    [Fact]
    public async Task With_no_hold_an_unreachable_store_hands_the_message_back_at_once()
    {
        var store = new FlakyStore(new InMemoryIdempotencyStore(), failures: int.MaxValue);
        var gate = new IdempotencyGate(store, new DualClusterMetrics(), NullLogger.Instance);
        var options = new IdempotencyOptions { StoreOutageHold = TimeSpan.Zero };

        var outcome = await gate.RunAsync(Message("k5"), "g", options, null, (_, _, _) => Task.CompletedTask, CancellationToken.None);

        Assert.False(outcome.Acknowledge);
        Assert.Equal(1, store.Calls);
    }

    /// <summary>Moves fake time on in small steps until the run completes (the gate's back-off timers fire as it goes).</summary>
    private static async Task DriveAsync(FakeTimeProvider time, Task run)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!run.IsCompleted && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.WhenAny(run, Task.Delay(5));
        }
    }

    /// <summary>Passes every call to <c>inner</c>; the test stores below change only how a claim behaves.</summary>
    private abstract class ForwardingStore(IIdempotencyStore inner) : IIdempotencyStore
    {
        protected IIdempotencyStore Inner => inner;

        public abstract ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default);

        public ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
            => inner.TryClaimManyAsync(requests, lease, cancellationToken);

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
            => inner.CompleteAsync(key, fencingToken, retention, cancellationToken);

        public ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
            => inner.CompleteManyAsync(completions, retention, cancellationToken);

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default)
            => inner.ReleaseAsync(key, fencingToken, cancellationToken);
    }

    /// <summary>Fails the first <c>failures</c> claims as an unreachable store does.</summary>
    private sealed class FlakyStore(IIdempotencyStore inner, int failures) : ForwardingStore(inner)
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _calls) <= failures)
            {
                throw new IdempotencyStoreUnavailableException("store down");
            }

            return Inner.TryClaimAsync(key, lease, cancellationToken);
        }
    }

    /// <summary>A store that records the claim and only then notices a cancelled token, as a database driver may.</summary>
    private sealed class ClaimThenNoticeCancellation(IIdempotencyStore inner) : ForwardingStore(inner)
    {
        public Action? BeforeAnswer { get; set; }

        public override async ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            var claim = await Inner.TryClaimAsync(key, lease, CancellationToken.None);
            BeforeAnswer?.Invoke();
            cancellationToken.ThrowIfCancellationRequested();
            return claim;
        }
    }
}
