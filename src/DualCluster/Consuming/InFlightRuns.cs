namespace DualCluster.Consuming;

/// <summary>
/// Counts work in flight and lets a stop wait until none is left. Thread-safe; <see cref="Enter"/> and
/// <see cref="Exit"/> cost one interlocked operation each unless a waiter is present.
/// </summary>
internal sealed class InFlightRuns
{
    private readonly object _gate = new();
    private int _count;
    private TaskCompletionSource? _idle;

    public int Count => Volatile.Read(ref _count);

    public void Enter() => Interlocked.Increment(ref _count);

    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) != 0 || Volatile.Read(ref _idle) is null)
        {
            return;
        }

        TaskCompletionSource? idle;
        lock (_gate)
        {
            if (Volatile.Read(ref _count) != 0)
            {
                return;
            }

            idle = _idle;
            _idle = null;
        }

        idle?.TrySetResult();
    }

    /// <summary>Completes once nothing is in flight.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    public Task WaitIdleAsync(CancellationToken cancellationToken = default)
    {
        Task waiting;
        lock (_gate)
        {
            if (Volatile.Read(ref _count) == 0)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting = _idle.Task;
        }

        // Exit may have reached zero between its decrement and our publishing the source: check again.
        if (Volatile.Read(ref _count) == 0)
        {
            lock (_gate)
            {
                _idle?.TrySetResult();
                _idle = null;
            }
        }

        return waiting.WaitAsync(cancellationToken);
    }
}
