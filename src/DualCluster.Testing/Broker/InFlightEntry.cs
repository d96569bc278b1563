namespace DualCluster.Testing;

/// <summary>A popped, unsettled message of one subscription. Mutable; guarded by the broker's lock.</summary>
internal sealed class InFlightEntry(StoredMessage message, int attempt)
{
    public StoredMessage Message { get; } = message;

    public int Attempt { get; } = attempt;

    public long HandleId { get; set; }

    public long DeadlineTicks { get; set; }

    /// <summary>True once its invisible duration was changed: it is tracked by deadline, not in its duration's FIFO.</summary>
    public bool Changed { get; set; }

    /// <summary>False once acked, expired or dead-lettered; deadline queues drop inactive entries lazily.</summary>
    public bool Active { get; set; } = true;
}
