using DualCluster.RocketMQ.Remoting;
using DualCluster.RocketMQ.Testing.Remoting;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>A minimal list-backed store, to exercise the loopback broker's protocol side on its own.</summary>
internal sealed class SimpleRemotingStore : IRemotingStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, List<MessageRecord>[]> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string, int), long> _offsets = [];
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int GetQueueCount(string topic)
    {
        lock (_gate)
        {
            return _topics.TryGetValue(topic, out var queues) ? queues.Length : 0;
        }
    }

    public void EnsureTopic(string topic, int queueCount)
    {
        lock (_gate)
        {
            if (!_topics.ContainsKey(topic))
            {
                _topics[topic] = [.. Enumerable.Range(0, queueCount).Select(_ => new List<MessageRecord>())];
            }
        }
    }

    public void Subscribe(string group, string topic)
    {
    }

    public (int QueueId, long QueueOffset) Append(string topic, int queueId, MessageRecord message, int delayLevel)
    {
        EnsureTopic(topic, 4);
        lock (_gate)
        {
            var queues = _topics[topic];
            var queue = queueId < 0 ? Random.Shared.Next(queues.Length) : queueId;
            message.Topic = topic;
            message.QueueId = queue;
            message.QueueOffset = queues[queue].Count;
            message.StoreTimestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            queues[queue].Add(message);
            var signal = _signal;
            _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
            signal.TrySetResult();
            return (queue, message.QueueOffset);
        }
    }

    public async Task<RemotingPull> PullAsync(string group, string topic, int queueId, long offset, int maxCount, string filter, TimeSpan suspend, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + suspend;
        while (true)
        {
            Task signal;
            lock (_gate)
            {
                var queue = _topics[topic][queueId];
                if (offset > queue.Count)
                {
                    return new RemotingPull(ResponseCode.PullOffsetMoved, [], queue.Count, 0, queue.Count);
                }

                if (offset < queue.Count)
                {
                    var found = queue.Skip((int)offset).Take(maxCount).Select(Clone).ToList();
                    return new RemotingPull(ResponseCode.Success, found, offset + found.Count, 0, queue.Count);
                }

                if (DateTime.UtcNow >= deadline)
                {
                    return new RemotingPull(ResponseCode.PullNotFound, [], offset, 0, queue.Count);
                }

                signal = _signal.Task;
            }

            try
            {
                await signal.WaitAsync(deadline - DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    public void CommitOffset(string group, string topic, int queueId, long offset)
    {
        lock (_gate)
        {
            _offsets[(group, topic, queueId)] = offset;
        }
    }

    public long? QueryOffset(string group, string topic, int queueId)
    {
        lock (_gate)
        {
            return _offsets.TryGetValue((group, topic, queueId), out var offset) ? offset : null;
        }
    }

    public long GetMinOffset(string topic, int queueId) => 0;

    public long GetMaxOffset(string topic, int queueId)
    {
        lock (_gate)
        {
            return _topics.TryGetValue(topic, out var queues) ? queues[queueId].Count : 0;
        }
    }

    public long SearchOffset(string topic, int queueId, long timestampMs) => 0;

    public void SendBack(string group, string topic, int queueId, long queueOffset, int delayLevel, int maxReconsumeTimes)
    {
        MessageRecord original;
        lock (_gate)
        {
            original = Clone(_topics[topic][queueId][(int)queueOffset]);
        }

        var copy = Clone(original);
        copy.Properties.TryAdd(MessageConst.RetryTopic, topic);
        copy.ReconsumeTimes = original.ReconsumeTimes + 1;
        var target = original.ReconsumeTimes >= maxReconsumeTimes || delayLevel < 0 ? MessageConst.DlqTopicOf(group) : MessageConst.RetryTopicOf(group);
        EnsureTopic(target, 1);
        Append(target, 0, copy, 0);
    }

    private static MessageRecord Clone(MessageRecord record) => new()
    {
        Topic = record.Topic,
        QueueId = record.QueueId,
        QueueOffset = record.QueueOffset,
        Body = record.Body,
        Flag = record.Flag,
        SysFlag = record.SysFlag,
        BornTimestamp = record.BornTimestamp,
        BornHost = record.BornHost,
        StoreTimestamp = record.StoreTimestamp,
        ReconsumeTimes = record.ReconsumeTimes,
        Properties = new Dictionary<string, string>(record.Properties, StringComparer.Ordinal),
    };
}
