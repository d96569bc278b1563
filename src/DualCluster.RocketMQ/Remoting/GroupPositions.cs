namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// What a 4.x consumer has proven about its group's position on the queues of its topic (<see cref="Transport.IClusterConsumer.IsPositioned"/>):
/// a queue is proven once the broker answered QUERY_CONSUMER_OFFSET with an offset or accepted an UPDATE_CONSUMER_OFFSET
/// for it (ConsumerOffsetManager then holds the group's offset, so a message sent from then on reaches the group). The
/// consumer is positioned once a rebalance assigned it at least one queue and every assigned queue is proven; that
/// stays true (the broker keeps the offsets after the consumer stops). Thread-safe.
/// </summary>
internal sealed class GroupPositions
{
    private readonly object _gate = new();
    private readonly HashSet<MessageQueue> _proven = [];
    private HashSet<MessageQueue> _assigned = [];
    private bool _positioned;

    public bool IsPositioned
    {
        get { lock (_gate) { return _positioned; } }
    }

    public bool IsProven(MessageQueue queue)
    {
        lock (_gate)
        {
            return _proven.Contains(queue);
        }
    }

    /// <summary>A rebalance assigned <paramref name="queues"/> (the topic's queues of this consumer now).</summary>
    public void Assigned(IEnumerable<MessageQueue> queues)
    {
        lock (_gate)
        {
            _assigned = [.. queues];
            Evaluate();
        }
    }

    /// <summary>The broker answered an offset of the group for <paramref name="queue"/>, or accepted one.</summary>
    public void Proven(MessageQueue queue)
    {
        lock (_gate)
        {
            _proven.Add(queue);
            Evaluate();
        }
    }

    private void Evaluate()
    {
        if (_assigned.Count > 0 && _assigned.IsSubsetOf(_proven))
        {
            _positioned = true;
        }
    }
}
