namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// The consumer's state for one owned queue: the next offset to pull and the messages pulled but not yet
/// settled, ordered by queue offset. The committable offset is the lowest in-flight offset, or the highest
/// seen + 1 when nothing is in flight (fact sheet §2.5, §5.3). Thread-safe.
/// </summary>
internal sealed class ProcessQueue(MessageQueue queue, string brokerAddress, long startOffset)
{
    private readonly SortedSet<long> _inFlight = [];
    private readonly object _gate = new();
    private long _nextOffset = startOffset;
    private long _consumedUpTo = startOffset;
    private long _lastCommitted = -1;
    private int _runningHandlers;
    private bool _dropped;

    public MessageQueue Queue { get; } = queue;

    public string BrokerAddress { get; set; } = brokerAddress;

    public CancellationTokenSource Cancellation { get; } = new();

    public Task? PullLoop { get; set; }

    /// <summary>True once this node gave the queue up (rebalanced away, lost to another node, or abandoned by a forced stop): it never commits for it again.</summary>
    public bool Dropped
    {
        get { lock (_gate) { return _dropped; } }
    }

    /// <summary>Handlers started for this queue's messages and not finished yet (their outcome is unknown).</summary>
    public int RunningHandlers => Volatile.Read(ref _runningHandlers);

    public void HandlerStarted() => Interlocked.Increment(ref _runningHandlers);

    public void HandlerFinished() => Interlocked.Decrement(ref _runningHandlers);

    public long NextOffset
    {
        get { lock (_gate) { return _nextOffset; } }
    }

    public int InFlightCount
    {
        get { lock (_gate) { return _inFlight.Count; } }
    }

    /// <summary>Registers pulled offsets as in flight and moves the pull position to <paramref name="nextBeginOffset"/>.</summary>
    public void Pulled(IEnumerable<long> offsets, long nextBeginOffset)
    {
        lock (_gate)
        {
            foreach (var offset in offsets)
            {
                _inFlight.Add(offset);
            }

            // Entries skipped by the filter (or nothing new) are consumed as far as the broker scanned.
            _consumedUpTo = Math.Max(_consumedUpTo, nextBeginOffset);
            _nextOffset = nextBeginOffset;
        }
    }

    /// <summary>The broker moved the offset (PULL_OFFSET_MOVED): adopt it for pulling and committing.</summary>
    public void Reset(long offset)
    {
        lock (_gate)
        {
            _inFlight.Clear();
            _nextOffset = offset;
            _consumedUpTo = offset;
        }
    }

    public void Settled(long offset)
    {
        lock (_gate)
        {
            _inFlight.Remove(offset);
        }
    }

    /// <summary>The next offset to consume: lowest in flight, else everything pulled so far.</summary>
    public long CommitOffset
    {
        get
        {
            lock (_gate)
            {
                return _inFlight.Count > 0 ? _inFlight.Min : _consumedUpTo;
            }
        }
    }

    /// <summary>The commit offset if it changed since the last call that returned one; else null. Null once dropped.</summary>
    public long? TakeCommitOffset()
    {
        lock (_gate)
        {
            var offset = _inFlight.Count > 0 ? _inFlight.Min : _consumedUpTo;
            if (_dropped || offset == _lastCommitted)
            {
                return null;
            }

            _lastCommitted = offset;
            return offset;
        }
    }

    /// <summary>The offset to commit now, or null once the queue was dropped (this node no longer owns it).</summary>
    public long? OwnedCommitOffset
    {
        get
        {
            lock (_gate)
            {
                return _dropped ? null : _inFlight.Count > 0 ? _inFlight.Min : _consumedUpTo;
            }
        }
    }

    /// <summary>Gives the queue up: stops its pulls and every later commit. Returns the commit offset at the moment of the drop.</summary>
    public long Drop()
    {
        long offset;
        lock (_gate)
        {
            _dropped = true;
            offset = _inFlight.Count > 0 ? _inFlight.Min : _consumedUpTo;
        }

        Cancellation.Cancel();
        return offset;
    }
}
