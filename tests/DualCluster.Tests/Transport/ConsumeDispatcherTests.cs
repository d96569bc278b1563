using System.Collections.Concurrent;
using DualCluster.Transport;

namespace DualCluster.Tests.Transport;

/// <summary>The core dispatcher's concurrency bound and stop contract (issue 13, the design change).</summary>
public sealed class ConsumeDispatcherTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static ReceivedMessage Message(int id) => new(ClusterRole.Old, "orders", $"m{id}", new byte[] { 1 }, 1);

    [Fact]
    public async Task A_graceful_stop_settles_the_handlers_in_flight_and_hands_back_what_never_started()
    {
        var settler = new RecordingSettler();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dispatcher = new ConsumeDispatcher<int>(async (_, _) =>
        {
            entered.TrySetResult();
            await release.Task;
            return ConsumeOutcome.Ack;
        }, settler, Message, maxConcurrency: 1, prefetch: 2);
        dispatcher.Start();
        Assert.Equal(3, await dispatcher.AcquireAsync(3, CancellationToken.None));
        dispatcher.Dispatch(1);
        await entered.Task.WaitAsync(Wait);
        dispatcher.Dispatch(2);
        dispatcher.Dispatch(3);

        var stop = dispatcher.StopAsync(CancellationToken.None);
        Assert.False(stop.IsCompleted);
        release.SetResult();
        await stop.WaitAsync(Wait);

        Assert.Equal(["ack 1", "hand-back 2", "hand-back 3"], settler.Events.OrderBy(e => e[^1]));
    }

    [Fact]
    public async Task A_forced_stop_never_settles_an_outcome_that_arrives_after_it()
    {
        var settler = new RecordingSettler();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancel = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dispatcher = new ConsumeDispatcher<int>(async (_, ct) =>
        {
            entered.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                sawCancel.TrySetResult();
            }

            return ConsumeOutcome.Ack; // the handler claims success after being told to stop: unknown, never settled
        }, settler, Message, maxConcurrency: 1);
        dispatcher.Start();
        await dispatcher.AcquireAsync(1, CancellationToken.None);
        dispatcher.Dispatch(7);
        await entered.Task.WaitAsync(Wait);

        await dispatcher.StopAsync(new CancellationToken(canceled: true)).WaitAsync(Wait);
        await sawCancel.Task.WaitAsync(Wait);
        await Task.Yield();

        Assert.Empty(settler.Events);
    }

    [Fact]
    public async Task No_more_than_the_concurrency_plus_the_prefetch_is_ever_fetched_and_unsettled()
    {
        var settler = new RecordingSettler();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;
        var peak = 0;
        var bothRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dispatcher = new ConsumeDispatcher<int>(async (_, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            if (now == 2)
            {
                bothRunning.TrySetResult();
            }

            await release.Task;
            Interlocked.Decrement(ref running);
            return ConsumeOutcome.Retry(TimeSpan.FromSeconds(1));
        }, settler, Message, maxConcurrency: 2, prefetch: 1);
        dispatcher.Start();

        Assert.Equal(3, await dispatcher.AcquireAsync(10, CancellationToken.None));
        for (var i = 0; i < 3; i++)
        {
            dispatcher.Dispatch(i);
        }

        await bothRunning.Task.WaitAsync(Wait);
        var more = dispatcher.AcquireAsync(1, CancellationToken.None).AsTask();
        Assert.False(more.IsCompleted);
        release.SetResult();
        Assert.Equal(1, await more.WaitAsync(Wait));
        dispatcher.Release(1);
        await dispatcher.StopAsync(CancellationToken.None).WaitAsync(Wait);

        Assert.Equal(2, peak);
        Assert.Equal(3, settler.Events.Count(e => e.StartsWith("retry 00:00:01", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_handler_exception_is_a_retry_and_a_throwing_settler_does_not_stop_the_workers()
    {
        var settler = new RecordingSettler { ThrowOnAck = true };
        var handled = new ConcurrentQueue<int>();
        var allSettled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        settler.AfterEach = () =>
        {
            if (settler.Events.Count == 3)
            {
                allSettled.TrySetResult();
            }
        };
        var dispatcher = new ConsumeDispatcher<int>((m, _) =>
        {
            var id = int.Parse(m.MessageId[1..], System.Globalization.CultureInfo.InvariantCulture);
            handled.Enqueue(id);
            return id == 1 ? throw new InvalidOperationException("handler bug") : ValueTask.FromResult(ConsumeOutcome.Ack);
        }, settler, Message, maxConcurrency: 1, prefetch: 2);
        dispatcher.Start();
        Assert.Equal(3, await dispatcher.AcquireAsync(3, CancellationToken.None));
        dispatcher.Dispatch(1);
        dispatcher.Dispatch(2);
        dispatcher.Dispatch(3);
        await allSettled.Task.WaitAsync(Wait);
        await dispatcher.StopAsync(CancellationToken.None).WaitAsync(Wait);

        Assert.Equal([1, 2, 3], handled);
        Assert.Contains("retry default 1", settler.Events);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private sealed class RecordingSettler : IDeliverySettler<int>
    {
        public bool ThrowOnAck { get; init; }

        public ConcurrentQueue<string> Events { get; } = new();

        public Action? AfterEach { get; set; }

        public ValueTask AckAsync(int delivery)
        {
            Events.Enqueue($"ack {delivery}");
            AfterEach?.Invoke();
            return ThrowOnAck ? throw new InvalidOperationException("settle bug") : default;
        }

        public ValueTask RetryAsync(int delivery, TimeSpan? delay)
        {
            Events.Enqueue($"retry {(delay is { } d ? d.ToString() : "default")} {delivery}");
            AfterEach?.Invoke();
            return default;
        }

        public ValueTask HandBackAsync(int delivery)
        {
            Events.Enqueue($"hand-back {delivery}");
            return default;
        }
    }
}
