namespace DualCluster.Testing;

/// <summary>One topic of an <see cref="InMemoryBroker"/>: its queues (append-only logs) and its delayed messages. Guarded by the broker's lock.</summary>
internal sealed class TopicState(string name)
{
    public string Name { get; } = name;

    /// <summary>One log per queue; a message's offset is its index (nothing is ever trimmed).</summary>
    public List<QueueLog> Queues { get; } = [];

    /// <summary>Delayed messages by due time (UTC ticks); their queue offset is assigned when they become due.</summary>
    public PriorityQueue<StoredMessage, long> Delayed { get; } = new();

    public int NextQueue { get; set; }

    private TaskCompletionSource? _waiters;

    /// <summary>A task that completes on the next <see cref="Notify"/> (a message became visible).</summary>
    public Task WaitSignal() => (_waiters ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify()
    {
        var waiters = _waiters;
        if (waiters is not null)
        {
            _waiters = null;
            waiters.TrySetResult();
        }
    }

    public void AddQueues(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Queues.Add(new QueueLog());
        }
    }
}
