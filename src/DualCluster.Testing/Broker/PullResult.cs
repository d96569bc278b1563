namespace DualCluster.Testing;

/// <summary>What an <see cref="InMemoryBroker.Pull"/> found in one queue. Immutable.</summary>
public sealed class PullResult
{
    internal PullResult(PullStatus status, IReadOnlyList<StoredMessage> messages, long nextOffset, long minOffset, long maxOffset)
    {
        Status = status;
        Messages = messages;
        NextOffset = nextOffset;
        MinOffset = minOffset;
        MaxOffset = maxOffset;
    }

    /// <summary>Whether messages were found, and if not why.</summary>
    public PullStatus Status { get; }

    /// <summary>The messages found (matching the filter), in offset order; empty unless <see cref="PullStatus.Found"/>.</summary>
    public IReadOnlyList<StoredMessage> Messages { get; }

    /// <summary>The offset to pull from next.</summary>
    public long NextOffset { get; }

    /// <summary>The queue's min offset.</summary>
    public long MinOffset { get; }

    /// <summary>The queue's max offset (the offset the next stored message will get).</summary>
    public long MaxOffset { get; }
}
