using System.Collections.Concurrent;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Testing;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// <see cref="IRemotingStore"/> over the <see cref="InMemoryBroker"/>'s pull/offset model: records are built
/// from stored messages (UNIQ_KEY = the stored message id), delay levels become delivery times, send-back
/// goes through the broker's retry / dead-letter logic.
/// </summary>
internal sealed class InMemoryRemotingStore(InMemoryBroker broker, RemotingLoopbackOptions options) : IRemotingStore
{
    private static readonly HashSet<string> NotUserProperties = new(StringComparer.Ordinal)
    {
        MessageConst.UniqKey, MessageConst.Tags, MessageConst.Keys, MessageConst.ShardingKey, MessageConst.Delay,
        MessageConst.Wait, MessageConst.StartDeliverTime, MessageProperties.IdempotencyKey,
    };

    private readonly ScheduleLog _schedule = new();

    // The broker's ConsumerOffsetManager: which (group, topic, queue) ever had an offset committed. The in-memory
    // broker also keeps a start offset for every subscribed group; a 4.x broker has none until the first commit.
    private readonly ConcurrentDictionary<(string Group, string Topic, int QueueId), byte> _committed = new();

    // Min offsets raised by retention (ExpireBefore); the in-memory broker itself keeps everything.
    private readonly ConcurrentDictionary<(string Topic, int QueueId), long> _minOffsets = new();

    public InMemoryBroker Broker => broker;

    public int GetQueueCount(string topic) => broker.GetQueueCount(topic);

    public void EnsureTopic(string topic, int queueCount) => broker.CreateTopic(topic, queueCount);

    /// <summary>Registers the group on the topic, so its start position applies from now (heartbeat).</summary>
    public void Subscribe(string group, string topic)
    {
        if (broker.TopicExists(topic))
        {
            Map(() => broker.Subscribe(group, topic));
        }
    }

    public (int QueueId, long QueueOffset) Append(string topic, int queueId, MessageRecord message, int delayLevel)
    {
        var properties = message.Properties;
        var outgoing = new OutgoingMessage(topic, message.Body)
        {
            Tag = properties.TryGetValue(MessageConst.Tags, out var tag) ? tag : null,
            MessageGroup = properties.TryGetValue(MessageConst.ShardingKey, out var group) ? group : null,
            IdempotencyKey = properties.TryGetValue(MessageProperties.IdempotencyKey, out var key) ? key : null,
        };
        if (properties.TryGetValue(MessageConst.Keys, out var keys))
        {
            foreach (var k in keys.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                outgoing.Keys.Add(k);
            }
        }

        foreach (var (name, value) in properties)
        {
            if (!NotUserProperties.Contains(name))
            {
                outgoing.Properties[name] = value;
            }
        }

        var now = broker.TimeProvider.GetUtcNow();
        if (delayLevel > 0)
        {
            outgoing.DeliveryTime = now + DelayOf(delayLevel);
        }

        else if (properties.TryGetValue(MessageConst.StartDeliverTime, out var at) && long.TryParse(at, System.Globalization.CultureInfo.InvariantCulture, out var atMs))
        {
            outgoing.DeliveryTime = DateTimeOffset.FromUnixTimeMilliseconds(atMs);
        }

        var id = properties.TryGetValue(MessageConst.UniqKey, out var uniq) ? uniq : null;
        var born = message.BornTimestamp > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(message.BornTimestamp) : (DateTimeOffset?)null;
        var result = Map(() => broker.Send(outgoing, id, queueId < 0 ? null : queueId, born));
        if (delayLevel > 0)
        {
            _schedule.Add(LevelOf(delayLevel), now + DelayOf(delayLevel));
        }

        return (result.QueueId, result.QueueOffset);
    }

    public async Task<RemotingPull> PullAsync(string group, string topic, int queueId, long offset, int maxCount, string filter, TimeSpan suspend, CancellationToken cancellationToken)
    {
        var min = ExpiredBefore(topic, queueId);
        if (min > 0 && offset < min)
        {
            // DefaultMessageStore.getMessage: OFFSET_TOO_SMALL → nextBeginOffset = min offset → PULL_OFFSET_MOVED.
            var max = GetMaxOffset(topic, queueId);
            return new RemotingPull(ResponseCode.PullOffsetMoved, [], min, min, max);
        }

        PullResult result;
        try
        {
            result = suspend > TimeSpan.Zero
                ? await broker.PullAsync(group, topic, queueId, offset, maxCount, suspend, filter, cancellationToken).ConfigureAwait(false)
                : broker.Pull(group, topic, queueId, offset, maxCount, filter);
        }
        catch (InMemoryBrokerException ex)
        {
            throw Translate(ex);
        }

        var code = result.Status switch
        {
            PullStatus.Found => ResponseCode.Success,
            PullStatus.NoNewMessage => ResponseCode.PullNotFound,
            PullStatus.NoMatchedMessage => ResponseCode.PullRetryImmediately,
            _ => ResponseCode.PullOffsetMoved,
        };
        var next = code == ResponseCode.PullOffsetMoved ? Math.Max(result.NextOffset, min) : result.NextOffset;
        return new RemotingPull(code, [.. result.Messages.Select(ToRecord)], next, Math.Max(result.MinOffset, min), result.MaxOffset);
    }

    public void CommitOffset(string group, string topic, int queueId, long offset)
    {
        Map(() => broker.CommitOffset(group, topic, queueId, offset));
        _committed.TryAdd((group, topic, queueId), 0);
    }

    public long? QueryOffset(string group, string topic, int queueId)
    {
        if (!_committed.ContainsKey((group, topic, queueId)))
        {
            return null;
        }

        var offset = broker.QueryOffset(group, topic, queueId);
        return offset < 0 ? null : offset;
    }

    public IReadOnlyCollection<string> GroupsWithOffsets(string topic) =>
        [.. _committed.Keys.Where(k => k.Topic == topic).Select(k => k.Group).Distinct(StringComparer.Ordinal)];

    public long GetMinOffset(string topic, int queueId) =>
        broker.TopicExists(topic) ? Math.Max(Map(() => broker.GetMinOffset(topic, queueId)), ExpiredBefore(topic, queueId)) : 0;

    public long GetMaxOffset(string topic, int queueId) =>
        topic == MessageConst.ScheduleTopic ? _schedule.Scheduled(queueId + 1)
        : broker.TopicExists(topic) ? Map(() => broker.GetMaxOffset(topic, queueId)) : 0;

    public bool IsOnDisk(string topic, int queueId, long offset)
    {
        if (!broker.TopicExists(topic) || broker.GetMessage(topic, queueId, offset) is null)
        {
            return false; // No consume-queue entry: checkInDiskByConsumeOffset answers false.
        }

        // checkInDiskByCommitOffset: on disk once more than the in-memory window was written since the message.
        return options.MessagesInMemoryPerQueue is { } window && GetMaxOffset(topic, queueId) - offset > Math.Max(0, window);
    }

    public void ExpireBefore(string topic, int queueId, long offset)
    {
        var max = GetMaxOffset(topic, queueId);
        _minOffsets.AddOrUpdate((topic, queueId), Math.Min(offset, max), (_, old) => Math.Max(old, Math.Min(offset, max)));
    }

    private long ExpiredBefore(string topic, int queueId) => _minOffsets.TryGetValue((topic, queueId), out var min) ? min : 0;

    public IReadOnlyDictionary<int, long> GetDelayOffsets() => _schedule.Progress(broker.TimeProvider.GetUtcNow());

    public long SearchOffset(string topic, int queueId, long timestampMs)
    {
        long low = GetMinOffset(topic, queueId), high = GetMaxOffset(topic, queueId);
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            var message = broker.GetMessage(topic, queueId, middle);
            if (message is not null && message.StoreTime.ToUnixTimeMilliseconds() < timestampMs)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    public void SendBack(string group, string topic, int queueId, long queueOffset, int delayLevel, int maxReconsumeTimes)
    {
        var message = broker.GetMessage(topic, queueId, queueOffset)
            ?? throw new RemotingStoreException(ResponseCode.SystemError, $"look message by offset failed, {topic}:{queueId}:{queueOffset}");

        // §2.9: level 0 = 3 + reconsume times; negative = straight to the dead-letter queue.
        if (delayLevel < 0)
        {
            Map(() => broker.SendBack(group, message, TimeSpan.Zero, 0));
            return;
        }

        var level = LevelOf(delayLevel == 0 ? 3 + message.ReconsumeTimes : delayLevel);
        var now = broker.TimeProvider.GetUtcNow();
        Map(() => broker.SendBack(group, message, DelayOf(level), maxReconsumeTimes));
        if (message.ReconsumeTimes < maxReconsumeTimes)
        {
            // Not dead-lettered: like Apache, the retry copy waits in SCHEDULE_TOPIC_XXXX until its level is due.
            _schedule.Add(level, now + DelayOf(level));
        }
    }

    private IReadOnlyList<TimeSpan> Levels => options.DelayLevels is { Count: > 0 } custom ? custom : MessageConst.DelayLevels;

    private int LevelOf(int level) => Math.Clamp(level, 1, Levels.Count);

    private TimeSpan DelayOf(int level) => Levels[LevelOf(level) - 1];

    private static MessageRecord ToRecord(StoredMessage message)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in message.Properties)
        {
            properties[name] = value;
        }

        properties[MessageConst.UniqKey] = message.MessageId;
        if (message.Tag is { } tag)
        {
            properties[MessageConst.Tags] = tag;
        }

        if (message.Keys.Count > 0)
        {
            properties[MessageConst.Keys] = string.Join(' ', message.Keys);
        }

        if (message.MessageGroup is { } group)
        {
            properties[MessageConst.ShardingKey] = group;
        }

        return new MessageRecord
        {
            Topic = message.Topic,
            QueueId = message.QueueId,
            QueueOffset = message.QueueOffset,
            Body = message.Body,
            BornTimestamp = message.BornTime.ToUnixTimeMilliseconds(),
            StoreTimestamp = message.StoreTime.ToUnixTimeMilliseconds(),
            ReconsumeTimes = message.ReconsumeTimes,
            Properties = properties,
        };
    }

    private static T Map<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (InMemoryBrokerException ex)
        {
            throw Translate(ex);
        }
    }

    private static void Map(Action action)
    {
        try
        {
            action();
        }
        catch (InMemoryBrokerException ex)
        {
            throw Translate(ex);
        }
    }

    private static RemotingStoreException Translate(InMemoryBrokerException ex) => ex.StatusCode switch
    {
        BrokerStatusCodes.Unavailable => new RemotingStoreException(ResponseCode.ServiceNotAvailable, ex.Message),
        BrokerStatusCodes.Timeout => new RemotingStoreException(ResponseCode.SystemError, ex.Message) { DropResponse = true },
        BrokerStatusCodes.TopicNotFound => new RemotingStoreException(ResponseCode.TopicNotExist, ex.Message),
        BrokerStatusCodes.InjectedFailure when ex.IsTransient => new RemotingStoreException(ResponseCode.SystemBusy, "[REJECTREQUEST]system busy: " + ex.Message),
        _ => new RemotingStoreException(ResponseCode.SystemError, ex.Message),
    };
}
