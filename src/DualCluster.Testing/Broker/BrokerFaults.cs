namespace DualCluster.Testing;

/// <summary>
/// Faults to inject into an <see cref="InMemoryBroker"/>: failed sends, lost acks, a paused cluster and
/// crashing consumers. Thread-safe; random decisions come from the broker's seed, so a run repeats.
/// </summary>
public sealed class BrokerFaults
{
    private readonly object _gate;
    private readonly Random _random;
    private int _failSends;
    private bool _failSendsTransient = true;
    private int _failSendsAfterStoring;
    private int _consumerCrashes;
    private double _ackLossProbability;
    private volatile bool _paused;

    internal BrokerFaults(object gate, Random random)
    {
        _gate = gate;
        _random = random;
    }

    /// <summary>
    /// The probability (0–1) that an ack reports success to the caller but is dropped, so the message is
    /// redelivered after its invisible duration (a duplicate for the consumer to suppress).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 0–1.</exception>
    public double AckLossProbability
    {
        get
        {
            lock (_gate)
            {
                return _ackLossProbability;
            }
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 0d);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1d);
            lock (_gate)
            {
                _ackLossProbability = value;
            }
        }
    }

    /// <summary>Whether the cluster is paused: sends, receives, pulls and acks fail transiently.</summary>
    public bool IsPaused => _paused;

    /// <summary>Makes the next <paramref name="count"/> sends fail without storing anything.</summary>
    /// <param name="count">How many sends fail.</param>
    /// <param name="transient">Whether the failure is transient (a retry may succeed) or permanent.</param>
    public void FailNextSends(int count, bool transient = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _failSends = count;
            _failSendsTransient = transient;
        }
    }

    /// <summary>
    /// Makes the next <paramref name="count"/> sends store the message and then fail with a transient
    /// <see cref="BrokerStatusCodes.Timeout"/>, as when a response is lost: a retry stores a duplicate.
    /// </summary>
    public void FailNextSendsAfterStoring(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _failSendsAfterStoring = count;
        }
    }

    /// <summary>
    /// Makes the consumers of this broker "crash" on their next <paramref name="count"/> messages: the handler
    /// runs, then the consumer abandons the message without acking or retrying it, as if its process died.
    /// The broker redelivers it after its invisible duration.
    /// </summary>
    public void CrashConsumerOnNextMessages(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _consumerCrashes = count;
        }
    }

    /// <summary>
    /// For consumers (transports) that honour <see cref="CrashConsumerOnNextMessages"/>: takes one pending crash.
    /// </summary>
    /// <returns>True when the caller must abandon the message it is handling.</returns>
    public bool TryTakeConsumerCrash()
    {
        if (Volatile.Read(ref _consumerCrashes) == 0)
        {
            return false;
        }

        lock (_gate)
        {
            if (_consumerCrashes == 0)
            {
                return false;
            }

            _consumerCrashes--;
            return true;
        }
    }

    /// <summary>Pauses the cluster: every request fails transiently until <see cref="Resume"/>.</summary>
    public void Pause() => _paused = true;

    /// <summary>Resumes a paused cluster and wakes long polls.</summary>
    public void Resume() => _paused = false;

    /// <summary>Clears every fault.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _failSends = 0;
            _failSendsAfterStoring = 0;
            _consumerCrashes = 0;
            _ackLossProbability = 0;
            _paused = false;
        }
    }

    // The members below run under the broker's lock.
    internal void ThrowIfPaused(string what)
    {
        if (_paused)
        {
            throw new InMemoryBrokerException(BrokerStatusCodes.Unavailable, true, $"The cluster is paused: {what} refused; retry after it resumes.");
        }
    }

    internal void BeforeStore()
    {
        if (_failSends > 0)
        {
            _failSends--;
            throw new InMemoryBrokerException(BrokerStatusCodes.InjectedFailure, _failSendsTransient, "Injected send failure.");
        }
    }

    internal bool TakeFailAfterStoring()
    {
        if (_failSendsAfterStoring > 0)
        {
            _failSendsAfterStoring--;
            return true;
        }

        return false;
    }

    internal bool TakeAckLoss() => _ackLossProbability > 0 && _random.NextDouble() < _ackLossProbability;
}
