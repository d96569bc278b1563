using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// The loopback broker (fact sheet §7.4): send (V1/V2), held pulls, offsets, heartbeats with
/// consumer-ids-changed notifications, send-back into retry / dead-letter, consume stats, strict header
/// checks and optional ACL verification, over an <see cref="IRemotingStore"/>.
/// </summary>
internal sealed class LoopbackBroker
{
    private static readonly string[] SendV2Required = ["a", "b", "c", "d", "e", "f", "g", "h"];
    private static readonly string[] SendV1Required = ["producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId", "sysFlag", "bornTimestamp", "flag"];
    private static readonly string[] PullRequired = ["consumerGroup", "topic", "queueId", "queueOffset", "maxMsgNums", "sysFlag", "commitOffset", "suspendTimeoutMillis", "subVersion"];

    private readonly IRemotingStore _store;
    private readonly RemotingLoopbackOptions _options;
    private readonly RemotingLoopbackFaults _faults;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, int> _aclRefusals = new();
    private readonly Func<IPEndPoint> _storeHost;
    private readonly ConsumerRegistry _consumers = new();
    private readonly object _indexGate = new();
    private readonly Dictionary<(string Topic, int QueueId, long Offset), long> _physicalByPosition = [];
    private readonly Dictionary<long, (string Topic, int QueueId, long Offset)> _positionByPhysical = [];
    private long _nextPhysical;

    public LoopbackBroker(IRemotingStore store, RemotingLoopbackOptions options, RemotingLoopbackFaults faults, Func<IPEndPoint> storeHost)
    {
        _store = store;
        _options = options;
        _faults = faults;
        _storeHost = storeHost;
    }

    public ConsumerRegistry Consumers => _consumers;

    /// <summary>How many requests with this code the ACL check refused (for tests).</summary>
    public int AclRefusals(int requestCode) => _aclRefusals.GetValueOrDefault(requestCode);

    /// <summary>Raised for every HEART_BEAT with the client id and the consumer groups it carried, in order (for tests).</summary>
    public event Action<string, IReadOnlyList<string>>? HeartbeatReceived;

    public async ValueTask<RemotingCommand?> HandleAsync(RemotingConnection connection, RemotingCommand request)
    {
        if (_faults.TakeFailure(request.Code) is { } injected)
        {
            return RemotingCommand.CreateResponse(request, injected, "[INJECTED] failure");
        }

        if (LoopbackAcl.Check(request, _options) is { } denied)
        {
            _aclRefusals.AddOrUpdate(request.Code, 1, (_, n) => n + 1);
            return denied;
        }

        try
        {
            return request.Code switch
            {
                RequestCode.HeartBeat => HeartBeat(connection, request),
                RequestCode.UnregisterClient => Unregister(connection, request),
                RequestCode.GetConsumerListByGroup => ConsumerList(request),
                RequestCode.SendMessageV2 or RequestCode.SendMessage => Send(connection, request),
                RequestCode.PullMessage => await PullAsync(connection, request).ConfigureAwait(false),
                RequestCode.QueryConsumerOffset => QueryOffset(request),
                RequestCode.UpdateConsumerOffset => UpdateOffset(request),
                RequestCode.GetMaxOffset => OffsetReply(request, (t, q) => _store.GetMaxOffset(t, q)),
                RequestCode.GetMinOffset => OffsetReply(request, (t, q) => _store.GetMinOffset(t, q)),
                RequestCode.SearchOffsetByTimestamp => SearchOffset(request),
                RequestCode.ConsumerSendMsgBack => SendBack(request),
                RequestCode.GetConsumeStats => ConsumeStats(request),
                RequestCode.GetAllDelayOffset => DelayOffsets(request),
                RequestCode.QueryTopicConsumeByWho => ConsumeByWho(request),
                RequestCode.CheckClientConfig => RemotingCommand.CreateResponse(request, ResponseCode.Success),
                _ => RemotingCommand.CreateResponse(request, ResponseCode.RequestCodeNotSupported, $" request type {request.Code} not supported"),
            };
        }
        catch (RemotingStoreException ex) when (ex.DropResponse)
        {
            return null;
        }
        catch (RemotingStoreException ex)
        {
            return RemotingCommand.CreateResponse(request, ex.Code, ex.Message);
        }
        catch (MissingFieldException ex)
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.SystemError, ex.Message);
        }
    }

    /// <summary>A closed channel leaves its groups; the rest are notified (§7.4).</summary>
    public void OnConnectionClosed(RemotingConnection connection)
    {
        foreach (var group in _consumers.Remove(connection))
        {
            Notify(group);
        }
    }

    private RemotingCommand HeartBeat(RemotingConnection connection, RemotingCommand request)
    {
        using var document = JsonDocument.Parse(request.Body);
        var root = document.RootElement;
        var clientId = root.TryGetProperty("clientID", out var id) ? id.GetString() : null;
        if (string.IsNullOrEmpty(clientId))
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.SystemError, "heartbeat without clientID");
        }

        var groups = new List<string>();
        if (root.TryGetProperty("consumerDataSet", out var consumers) && consumers.ValueKind == JsonValueKind.Array)
        {
            foreach (var consumer in consumers.EnumerateArray())
            {
                var group = consumer.GetProperty("groupName").GetString()!;
                groups.Add(group);
                var subscriptions = new Dictionary<string, SubscriptionEntry>(StringComparer.Ordinal);
                if (consumer.TryGetProperty("subscriptionDataSet", out var set) && set.ValueKind == JsonValueKind.Array)
                {
                    foreach (var subscription in set.EnumerateArray())
                    {
                        var topic = subscription.GetProperty("topic").GetString()!;
                        subscriptions[topic] = new SubscriptionEntry(
                            topic,
                            subscription.TryGetProperty("subString", out var sub) ? sub.GetString() ?? "*" : "*",
                            subscription.TryGetProperty("subVersion", out var version) && version.ValueKind == JsonValueKind.Number ? version.GetInt64() : 0);
                    }
                }

                // ClientManageProcessor.heartBeat: consumer data for a group creates its %RETRY% topic (1 queue,
                // TopicConfigManager.createTopicInSendMessageBackMethod), which the name server then routes.
                _store.EnsureTopic(MessageConst.RetryTopicOf(group), 1);
                foreach (var topic in subscriptions.Keys)
                {
                    if (_options.AutoCreateTopics && _store.GetQueueCount(topic) == 0)
                    {
                        _store.EnsureTopic(topic, LoopbackNameServer.DefaultQueueCount);
                    }

                    _store.Subscribe(group, topic);
                }

                if (_consumers.Upsert(group, connection, clientId, subscriptions))
                {
                    Notify(group);
                }
            }
        }

        HeartbeatReceived?.Invoke(clientId, groups);
        var response = RemotingCommand.CreateResponse(request, ResponseCode.Success);
        response.Version = RemotingCommand.CurrentVersion;
        return response;
    }

    private RemotingCommand Unregister(RemotingConnection connection, RemotingCommand request)
    {
        Require(request, "clientID");
        foreach (var group in _consumers.Remove(connection, request.GetExt("consumerGroup")))
        {
            Notify(group);
        }

        return RemotingCommand.CreateResponse(request, ResponseCode.Success);
    }

    private void Notify(string group)
    {
        foreach (var channel in _consumers.Channels(group))
        {
            var notify = RemotingCommand.CreateRequest(RequestCode.NotifyConsumerIdsChanged).Set("consumerGroup", group);
            notify.Language = LanguageCode.Java;
            notify.Flag = RemotingCommand.OneWayFlag;
            channel.TrySend(notify);
        }
    }

    private RemotingCommand ConsumerList(RemotingCommand request)
    {
        Require(request, "consumerGroup");
        var group = request.GetExt("consumerGroup")!;
        var ids = _consumers.ClientIds(group);
        if (ids.Count == 0)
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.SystemError, $"no consumer for this group, {group}");
        }

        var response = RemotingCommand.CreateResponse(request, ResponseCode.Success);
        response.Body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, List<string>> { ["consumerIdList"] = ids });
        return response;
    }

    private RemotingCommand Send(RemotingConnection connection, RemotingCommand request)
    {
        var v2 = request.Code == RequestCode.SendMessageV2;
        Require(request, v2 ? SendV2Required : SendV1Required);
        string Field(string shortName, string longName) => request.GetExt(v2 ? shortName : longName) ?? string.Empty;
        var topic = Field("b", "topic");
        if (!IsValidTopic(topic))
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.SystemError, $"The specified topic[{topic}] contains illegal characters or is too long.");
        }

        var queueId = ParseInt(Field("e", "queueId"), "queueId");
        var sysFlag = ParseInt(Field("f", "sysFlag"), "sysFlag");
        var reconsumeTimes = int.TryParse(Field("j", "reconsumeTimes"), CultureInfo.InvariantCulture, out var j) ? j : 0;
        var maxReconsume = int.TryParse(Field("l", "maxReconsumeTimes"), CultureInfo.InvariantCulture, out var l) ? l : 16;
        var properties = MessagePropertyCodec.Decode(Field("i", "properties"));
        properties.Remove(MessageConst.Wait);
        properties[MessageConst.Cluster] = _options.ClusterName;
        var delayLevel = properties.TryGetValue(MessageConst.Delay, out var delayText) && int.TryParse(delayText, CultureInfo.InvariantCulture, out var level) ? Math.Clamp(level, 0, 18) : 0;
        properties.Remove(MessageConst.Delay);

        var body = request.Body;
        if ((sysFlag & MessageRecordCodec.CompressedFlag) != 0)
        {
            // Stored uncompressed so every reader of the in-memory broker sees the real body.
            body = MessageRecordCodec.Decompress(body, sysFlag);
            sysFlag &= ~(MessageRecordCodec.CompressedFlag | MessageRecordCodec.CompressionTypeMask);
        }

        if (topic.StartsWith(MessageConst.RetryPrefix, StringComparison.Ordinal) && reconsumeTimes >= maxReconsume)
        {
            topic = MessageConst.DlqPrefix + topic[MessageConst.RetryPrefix.Length..];
            _store.EnsureTopic(topic, 1);
            queueId = 0;
            delayLevel = 0;
        }

        var queues = _store.GetQueueCount(topic);
        if (queues == 0 && topic.StartsWith(MessageConst.RetryPrefix, StringComparison.Ordinal))
        {
            // AbstractSendMessageProcessor.msgCheck: a send to a missing %RETRY% topic creates it (1 queue,
            // createTopicInSendMessageBackMethod), whatever autoCreateTopicEnable says.
            _store.EnsureTopic(topic, 1);
            queues = 1;
        }

        if (queues == 0 && !_options.AutoCreateTopics)
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.TopicNotExist, $"topic[{topic}] not exist, apply first please!");
        }

        if (queues > 0 && queueId >= queues)
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.SystemError, $"request queueId[{queueId}] is illegal, topic:{topic} queueNums:{queues}");
        }

        var record = new MessageRecord
        {
            Topic = topic,
            Flag = ParseInt(Field("h", "flag"), "flag"),
            SysFlag = sysFlag,
            BornTimestamp = long.TryParse(Field("g", "bornTimestamp"), CultureInfo.InvariantCulture, out var born) ? born : 0,
            BornHost = connection.RemoteEndPoint ?? new IPEndPoint(IPAddress.Loopback, 0),
            ReconsumeTimes = reconsumeTimes,
            Body = body,
            Properties = properties,
        };
        var (storedQueue, storedOffset) = _store.Append(topic, queueId, record, delayLevel);
        var response = RemotingCommand.CreateResponse(request, ResponseCode.Success);
        response.Set("msgId", storedOffset >= 0 ? MessageIds.OffsetId(_storeHost(), PhysicalOffset(topic, storedQueue, storedOffset)) : MessageIds.OffsetId(_storeHost(), 0))
            .Set("queueId", storedQueue)
            .Set("queueOffset", storedOffset)
            .Set("MSG_REGION", "DefaultRegion")
            .Set("TRACE_ON", "true");
        return response;
    }

    private async Task<RemotingCommand> PullAsync(RemotingConnection connection, RemotingCommand request)
    {
        Require(request, PullRequired);
        var group = request.GetExt("consumerGroup")!;
        var topic = request.GetExt("topic")!;
        var queueId = ParseInt(request.GetExt("queueId")!, "queueId");
        var offset = ParseLong(request.GetExt("queueOffset")!, "queueOffset");
        var maxCount = Math.Clamp(ParseInt(request.GetExt("maxMsgNums")!, "maxMsgNums"), 1, 32);
        var sysFlag = ParseInt(request.GetExt("sysFlag")!, "sysFlag");
        var queues = _store.GetQueueCount(topic);
        if (queues == 0)
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.TopicNotExist, $"topic[{topic}] not exist, apply first please!");
        }

        if (queueId < 0 || queueId >= queues)
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.SystemError, $"queueId[{queueId}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{queues}]");
        }

        string filter;
        if ((sysFlag & 4) != 0)
        {
            filter = request.GetExt("subscription") ?? "*";
        }
        else if (_consumers.Subscription(group, topic) is { } registered)
        {
            if (request.GetLong("subVersion") > registered.SubVersion)
            {
                return RemotingCommand.CreateResponse(request, ResponseCode.SubscriptionNotLatest, "the consumer's subscription not latest");
            }

            filter = registered.Expression;
        }
        else
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.SubscriptionNotExist, $"the consumer's subscription not exist, group: {group}");
        }

        if ((sysFlag & 1) != 0)
        {
            var commit = ParseLong(request.GetExt("commitOffset")!, "commitOffset");
            if (commit >= 0)
            {
                _store.CommitOffset(group, topic, queueId, commit);
            }
        }

        var suspend = (sysFlag & 2) != 0
            ? TimeSpan.FromMilliseconds(Math.Min(ParseLong(request.GetExt("suspendTimeoutMillis")!, "suspendTimeoutMillis"), (long)_options.MaxPullSuspend.TotalMilliseconds))
            : TimeSpan.Zero;
        RemotingPull pull;
        try
        {
            pull = await _store.PullAsync(group, topic, queueId, offset, maxCount, filter, suspend, connection.ClosedToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.PullNotFound, "OFFSET_FOUND_NULL");
        }

        var response = RemotingCommand.CreateResponse(request, pull.Code, pull.Code switch
        {
            ResponseCode.Success => "FOUND",
            ResponseCode.PullNotFound => "NO_MESSAGE_IN_QUEUE",
            ResponseCode.PullRetryImmediately => "NO_MATCHED_MESSAGE",
            ResponseCode.PullOffsetMoved => "OFFSET_OVERFLOW_BADLY",
            _ => null,
        });
        response.Set("nextBeginOffset", pull.NextOffset)
            .Set("minOffset", pull.MinOffset)
            .Set("maxOffset", pull.MaxOffset)
            .Set("suggestWhichBrokerId", 0);
        if (pull.Code == ResponseCode.Success)
        {
            using var body = new FrameBuffer();
            var storeHost = _storeHost();
            foreach (var record in pull.Messages)
            {
                record.PhysicalOffset = PhysicalOffset(record.Topic, record.QueueId, record.QueueOffset);
                record.StoreHost = storeHost;
                record.PropertiesText = MessagePropertyCodec.Encode(record.Properties);
                record.BodyCrc = MessageRecordCodec.BodyCrc(record.Body.Span);
                MessageRecordCodec.Encode(record, body);
            }

            response.Body = body.ToArray();
        }

        return response;
    }

    /// <summary>
    /// ConsumerManageProcessor.queryConsumerOffset (apache/rocketmq 4.9.7, broker/.../processor/ConsumerManageProcessor.java; required
    /// headers consumerGroup, topic, queueId): the committed offset (ConsumerOffsetManager.queryOffset); for a group that never committed,
    /// 0 when the queue's min offset is ≤ 0 and its first message is not on disk
    /// (DefaultMessageStore.checkInDiskByConsumeOffset — an empty queue counts as not on disk), else QUERY_NOT_FOUND.
    /// So a new CONSUME_FROM_LAST_OFFSET group reads a young queue from its start, an older one from its max offset.
    /// </summary>
    private RemotingCommand QueryOffset(RemotingCommand request)
    {
        Require(request, "consumerGroup", "topic", "queueId");
        var topic = request.GetExt("topic")!;
        var queueId = ParseInt(request.GetExt("queueId")!, "queueId");
        if (_store.QueryOffset(request.GetExt("consumerGroup")!, topic, queueId) is { } committed)
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.Success).Set("offset", committed);
        }

        if (_store.GetMinOffset(topic, queueId) <= 0 && !_store.IsOnDisk(topic, queueId, 0))
        {
            return RemotingCommand.CreateResponse(request, ResponseCode.Success).Set("offset", 0L);
        }

        return RemotingCommand.CreateResponse(request, ResponseCode.QueryNotFound, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
    }

    /// <summary>
    /// AdminBrokerProcessor.queryTopicConsumeByWho (apache/rocketmq 4.9.7, broker/.../processor/AdminBrokerProcessor.java):
    /// the groups whose live subscription table names the topic (ConsumerManager.queryTopicConsumeByWho) united with the
    /// groups holding offsets of it (ConsumerOffsetManager.whichGroupByTopic), as a GroupList body
    /// <c>{"groupList":[…]}</c>. Always SUCCESS, also for an unknown topic (an empty list).
    /// </summary>
    private RemotingCommand ConsumeByWho(RemotingCommand request)
    {
        Require(request, "topic");
        var topic = request.GetExt("topic")!;
        var groups = new SortedSet<string>(_consumers.GroupsSubscribing(topic), StringComparer.Ordinal);
        groups.UnionWith(_store.GroupsWithOffsets(topic));
        var response = RemotingCommand.CreateResponse(request, ResponseCode.Success);
        response.Body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, SortedSet<string>> { ["groupList"] = groups });
        return response;
    }

    private RemotingCommand UpdateOffset(RemotingCommand request)
    {
        Require(request, "consumerGroup", "topic", "queueId", "commitOffset");
        _store.CommitOffset(request.GetExt("consumerGroup")!, request.GetExt("topic")!, ParseInt(request.GetExt("queueId")!, "queueId"), ParseLong(request.GetExt("commitOffset")!, "commitOffset"));
        return RemotingCommand.CreateResponse(request, ResponseCode.Success);
    }

    private static RemotingCommand OffsetReply(RemotingCommand request, Func<string, int, long> read)
    {
        Require(request, "topic", "queueId");
        return RemotingCommand.CreateResponse(request, ResponseCode.Success).Set("offset", read(request.GetExt("topic")!, ParseInt(request.GetExt("queueId")!, "queueId")));
    }

    private RemotingCommand SearchOffset(RemotingCommand request)
    {
        Require(request, "topic", "queueId", "timestamp");
        var offset = _store.SearchOffset(request.GetExt("topic")!, ParseInt(request.GetExt("queueId")!, "queueId"), ParseLong(request.GetExt("timestamp")!, "timestamp"));
        return RemotingCommand.CreateResponse(request, ResponseCode.Success).Set("offset", offset);
    }

    private RemotingCommand SendBack(RemotingCommand request)
    {
        Require(request, "offset", "group", "delayLevel");
        var physical = ParseLong(request.GetExt("offset")!, "offset");
        (string Topic, int QueueId, long Offset) position;
        lock (_indexGate)
        {
            if (!_positionByPhysical.TryGetValue(physical, out position))
            {
                return RemotingCommand.CreateResponse(request, ResponseCode.SystemError, $"look message by offset failed, {physical}");
            }
        }

        var maxReconsume = request.GetInt("maxReconsumeTimes") ?? 16;
        _store.SendBack(request.GetExt("group")!, position.Topic, position.QueueId, position.Offset, ParseInt(request.GetExt("delayLevel")!, "delayLevel"), maxReconsume);
        return RemotingCommand.CreateResponse(request, ResponseCode.Success);
    }

    /// <summary>The schedule service's progress per level, as Apache returns its delayOffset.json (fastjson: bare integer keys, pretty-printed).</summary>
    private RemotingCommand DelayOffsets(RemotingCommand request)
    {
        var table = string.Join(',', _store.GetDelayOffsets().OrderBy(p => p.Key).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}:{p.Value}")));
        var response = RemotingCommand.CreateResponse(request, ResponseCode.Success);
        response.Body = Encoding.UTF8.GetBytes("{\n\t\"offsetTable\":{" + table + "}\n}");
        return response;
    }

    private RemotingCommand ConsumeStats(RemotingCommand request)
    {
        Require(request, "consumerGroup");
        var group = request.GetExt("consumerGroup")!;
        var topics = request.GetExt("topic") is { Length: > 0 } topic ? [topic] : new[] { MessageConst.RetryTopicOf(group) };

        // fastjson shape with object keys (§2.11): what Java tools expect; not valid JSON.
        var builder = new StringBuilder("{\"consumeTps\":0.0,\"offsetTable\":{");
        var first = true;
        foreach (var name in topics)
        {
            for (var queue = 0; queue < _store.GetQueueCount(name); queue++)
            {
                if (!first)
                {
                    builder.Append(',');
                }

                first = false;
                var consumerOffset = _store.QueryOffset(group, name, queue) ?? 0;
                builder.Append(CultureInfo.InvariantCulture, $"{{\"brokerName\":{JsonSerializer.Serialize(_options.BrokerName)},\"queueId\":{queue},\"topic\":{JsonSerializer.Serialize(name)}}}:")
                    .Append(CultureInfo.InvariantCulture, $"{{\"brokerOffset\":{_store.GetMaxOffset(name, queue)},\"consumerOffset\":{consumerOffset},\"lastTimestamp\":0}}");
            }
        }

        builder.Append("}}");
        var response = RemotingCommand.CreateResponse(request, ResponseCode.Success);
        response.Body = Encoding.UTF8.GetBytes(builder.ToString());
        return response;
    }

    private long PhysicalOffset(string topic, int queueId, long offset)
    {
        lock (_indexGate)
        {
            if (!_physicalByPosition.TryGetValue((topic, queueId, offset), out var physical))
            {
                // Synthetic commit-log positions, spaced like records so offset ids look real.
                physical = _nextPhysical;
                _nextPhysical += 256;
                _physicalByPosition[(topic, queueId, offset)] = physical;
                _positionByPhysical[physical] = (topic, queueId, offset);
            }

            return physical;
        }
    }

    private static bool IsValidTopic(string topic)
    {
        if (topic.Length is 0 or > 127)
        {
            return false;
        }

        foreach (var c in topic)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '%' or '-' or '_' or '|'))
            {
                return false;
            }
        }

        return true;
    }

    private static void Require(RemotingCommand request, params string[] fields)
    {
        foreach (var field in fields)
        {
            if (request.GetExt(field) is null)
            {
                throw new MissingFieldException($"the custom field <{field}> is null");
            }
        }
    }

    private static int ParseInt(string text, string field) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : throw new MissingFieldException($"the custom field <{field}> is not an int: {text}");

    private static long ParseLong(string text, string field) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : throw new MissingFieldException($"the custom field <{field}> is not a long: {text}");
}
