namespace DualCluster.Testing;

/// <summary>Running totals of what an <see cref="InMemoryBroker"/> did, for assertions. Thread-safe reads.</summary>
public sealed class BrokerCounters
{
    private long _stored;
    private long _acked;
    private long _acksLost;
    private long _redelivered;
    private long _deadLettered;
    private long _sendsFailed;

    /// <summary>Messages appended to a queue (delayed ones once due; retry and dead-letter copies included).</summary>
    public long Stored => Volatile.Read(ref _stored);

    /// <summary>Pop deliveries acked (lost acks excluded).</summary>
    public long Acked => Volatile.Read(ref _acked);

    /// <summary>Acks that reported success but were dropped by <see cref="BrokerFaults.AckLossProbability"/>.</summary>
    public long AcksLost => Volatile.Read(ref _acksLost);

    /// <summary>Redeliveries: pop deliveries with an attempt above 1, plus messages sent back to a retry topic.</summary>
    public long Redelivered => Volatile.Read(ref _redelivered);

    /// <summary>Messages moved to a dead-letter topic.</summary>
    public long DeadLettered => Volatile.Read(ref _deadLettered);

    /// <summary>Sends refused by an injected fault or a pause.</summary>
    public long SendsFailed => Volatile.Read(ref _sendsFailed);

    internal void AddStored() => Interlocked.Increment(ref _stored);

    internal void AddAcked() => Interlocked.Increment(ref _acked);

    internal void AddAckLost() => Interlocked.Increment(ref _acksLost);

    internal void AddRedelivered() => Interlocked.Increment(ref _redelivered);

    internal void AddDeadLettered() => Interlocked.Increment(ref _deadLettered);

    internal void AddSendFailed() => Interlocked.Increment(ref _sendsFailed);

    /// <inheritdoc/>
    public override string ToString() =>
        $"stored={Stored} acked={Acked} acksLost={AcksLost} redelivered={Redelivered} deadLettered={DeadLettered} sendsFailed={SendsFailed}";
}
