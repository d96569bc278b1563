using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// What the loopback broker needs from storage, in 4.x terms (queues, logical offsets, group offsets,
/// send-back). Implemented over the in-memory broker by <see cref="InMemoryRemotingStore"/>.
/// Records returned carry topic, queue id and queue offset; the broker assigns physical offsets.
/// </summary>
internal interface IRemotingStore
{
    /// <summary>Queues of <paramref name="topic"/>; 0 when the topic is unknown.</summary>
    int GetQueueCount(string topic);

    /// <summary>Creates <paramref name="topic"/> with <paramref name="queueCount"/> queues if it does not exist.</summary>
    void EnsureTopic(string topic, int queueCount);

    /// <summary>Registers <paramref name="group"/> as a consumer of <paramref name="topic"/> (from a heartbeat), so its start position applies.</summary>
    void Subscribe(string group, string topic);

    /// <summary>Stores a message; returns where.</summary>
    /// <exception cref="RemotingStoreException">The store refused.</exception>
    (int QueueId, long QueueOffset) Append(string topic, int queueId, MessageRecord message, int delayLevel);

    /// <summary>Pulls up to <paramref name="maxCount"/> messages matching <paramref name="filter"/>, holding up to <paramref name="suspend"/> when none.</summary>
    Task<RemotingPull> PullAsync(string group, string topic, int queueId, long offset, int maxCount, string filter, TimeSpan suspend, CancellationToken cancellationToken);

    void CommitOffset(string group, string topic, int queueId, long offset);

    /// <summary>The offset <paramref name="group"/> committed for the queue; null when it never committed one.</summary>
    long? QueryOffset(string group, string topic, int queueId);

    /// <summary>The groups that committed an offset of some queue of <paramref name="topic"/> (ConsumerOffsetManager.whichGroupByTopic).</summary>
    IReadOnlyCollection<string> GroupsWithOffsets(string topic);

    /// <summary>The lowest offset still stored in the queue (raised by <see cref="ExpireBefore"/>).</summary>
    long GetMinOffset(string topic, int queueId);

    /// <summary>Whether the message at <paramref name="offset"/> only lives on disk (no longer in the page cache); false when there is no such message.</summary>
    bool IsOnDisk(string topic, int queueId, long offset);

    /// <summary>Drops the queue's messages below <paramref name="offset"/> from the 4.x view, as retention deletes old commit-log files.</summary>
    void ExpireBefore(string topic, int queueId, long offset);

    /// <summary>Next offset of the queue; for <c>SCHEDULE_TOPIC_XXXX</c> queue <c>level − 1</c>, how many messages were ever scheduled at that level.</summary>
    long GetMaxOffset(string topic, int queueId);

    long SearchOffset(string topic, int queueId, long timestampMs);

    /// <summary>Per delay level, how many scheduled messages are due already (the schedule service's progress, GET_ALL_DELAY_OFFSET).</summary>
    IReadOnlyDictionary<int, long> GetDelayOffsets();

    /// <summary>Moves the message at (topic, queue, offset) to the group's retry topic after the delay of <paramref name="delayLevel"/>, or to its dead-letter topic.</summary>
    /// <exception cref="RemotingStoreException">The message is unknown.</exception>
    void SendBack(string group, string topic, int queueId, long queueOffset, int delayLevel, int maxReconsumeTimes);
}

/// <summary>The result of a pull from the store.</summary>
internal sealed record RemotingPull(int Code, IReadOnlyList<MessageRecord> Messages, long NextOffset, long MinOffset, long MaxOffset);

/// <summary>The store refused a request; carries the 4.x response code to answer with.</summary>
internal sealed class RemotingStoreException(int code, string message) : Exception(message)
{
    public int Code { get; } = code;

    /// <summary>True when the client should get no response at all (a "lost" response).</summary>
    public bool DropResponse { get; init; }
}
