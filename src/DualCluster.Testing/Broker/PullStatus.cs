namespace DualCluster.Testing;

/// <summary>The outcome of an <see cref="InMemoryBroker.Pull"/>.</summary>
public enum PullStatus
{
    /// <summary>Messages were found at the requested offset.</summary>
    Found = 0,

    /// <summary>The offset is the queue's max offset: nothing new yet.</summary>
    NoNewMessage = 1,

    /// <summary>Messages were scanned but none matched the filter; continue from <see cref="PullResult.NextOffset"/>.</summary>
    NoMatchedMessage = 2,

    /// <summary>The offset is below the queue's min offset or above its max offset; continue from <see cref="PullResult.NextOffset"/>.</summary>
    OffsetIllegal = 3,
}
