namespace DualCluster.Testing;

/// <summary>
/// What one consumer group has consumed of one topic: a consume offset per queue (the pop cursor or the
/// committed pull offset), popped messages in flight and expired ones waiting for redelivery.
/// Guarded by the broker's lock.
/// </summary>
internal sealed class Subscription(GroupState group, TopicState topic)
{
    // Invisible deadlines grow monotonically for one invisible duration, so each duration gets a FIFO and
    // expiry needs no heap; entries whose duration was changed go to a heap. Acked entries are dropped lazily.
    private readonly Dictionary<long, Queue<InFlightEntry>> _byDuration = [];
    private readonly PriorityQueue<InFlightEntry, long> _changed = new();
    private string? _filterExpression;
    private TagFilter _filter = TagFilter.All;

    public GroupState Group { get; } = group;

    public TopicState Topic { get; } = topic;

    public List<long> Offsets { get; } = [];

    public Dictionary<long, InFlightEntry> InFlight { get; } = [];

    public Queue<InFlightEntry> Redeliver { get; } = new();

    public int NextQueue { get; set; }

    public TagFilter Filter(string? expression)
    {
        if (!string.Equals(expression, _filterExpression, StringComparison.Ordinal))
        {
            _filter = TagFilter.Parse(expression);
            _filterExpression = expression;
        }

        return _filter;
    }

    public void Track(InFlightEntry entry, long durationTicks)
    {
        if (!_byDuration.TryGetValue(durationTicks, out var queue))
        {
            _byDuration[durationTicks] = queue = new Queue<InFlightEntry>();
        }

        queue.Enqueue(entry);
    }

    public void TrackChanged(InFlightEntry entry) => _changed.Enqueue(entry, entry.DeadlineTicks);

    /// <summary>Moves the active entries whose deadline passed into <paramref name="expired"/> (marking them inactive); drops settled ones.</summary>
    public void CollectExpired(long now, List<InFlightEntry> expired)
    {
        foreach (var queue in _byDuration.Values)
        {
            while (queue.TryPeek(out var head))
            {
                if (!head.Active || head.Changed)
                {
                    queue.Dequeue();
                    continue;
                }

                if (head.DeadlineTicks > now)
                {
                    break;
                }

                queue.Dequeue();
                head.Active = false;
                expired.Add(head);
            }
        }

        while (_changed.TryPeek(out var entry, out var deadline))
        {
            var live = entry.Active && entry.DeadlineTicks == deadline;
            if (live && deadline > now)
            {
                break;
            }

            _changed.Dequeue();
            if (live)
            {
                entry.Active = false;
                expired.Add(entry);
            }
        }
    }

    /// <summary>The earliest deadline of an active in-flight entry, or null.</summary>
    public long? NextDeadline()
    {
        long? next = null;
        foreach (var queue in _byDuration.Values)
        {
            while (queue.TryPeek(out var head) && (!head.Active || head.Changed))
            {
                queue.Dequeue();
            }

            if (queue.TryPeek(out var first))
            {
                next = next is null ? first.DeadlineTicks : Math.Min(next.Value, first.DeadlineTicks);
            }
        }

        while (_changed.TryPeek(out var changed, out var deadline) && !(changed.Active && changed.DeadlineTicks == deadline))
        {
            _changed.Dequeue();
        }

        if (_changed.TryPeek(out _, out var earliest))
        {
            next = next is null ? earliest : Math.Min(next.Value, earliest);
        }

        return next;
    }
}
