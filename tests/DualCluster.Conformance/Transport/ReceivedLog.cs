namespace DualCluster.Conformance.Transport;

/// <summary>Collects what a handler received and lets a test wait for a condition on it (no sleeps).</summary>
public sealed class ReceivedLog
{
    private readonly List<ReceivedMessage> _messages = [];
    private readonly List<(Func<IReadOnlyList<ReceivedMessage>, bool> Condition, TaskCompletionSource Done)> _waiters = [];

    /// <summary>A snapshot of everything received, in arrival order.</summary>
    public IReadOnlyList<ReceivedMessage> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Records a delivery and wakes the waiters whose condition now holds.</summary>
    public void Add(ReceivedMessage message)
    {
        lock (_messages)
        {
            _messages.Add(message);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Condition(_messages))
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Completes when <paramref name="condition"/> holds on the received messages; fails after <paramref name="timeout"/> (default 30 s).</summary>
    public Task WaitForAsync(Func<IReadOnlyList<ReceivedMessage>, bool> condition, TimeSpan? timeout = null)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_messages)
        {
            if (condition(_messages))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((condition, done));
        }

        return done.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>How many deliveries carried <paramref name="idempotencyKey"/>.</summary>
    public int CountOf(string idempotencyKey) => Messages.Count(m => m.IdempotencyKey == idempotencyKey);
}
