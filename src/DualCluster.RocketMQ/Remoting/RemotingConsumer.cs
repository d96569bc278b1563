using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using DualCluster.Transport;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// A clustering-mode push consumer over long-polling PULL_MESSAGE (fact sheet §5): heartbeats with the
/// topic and <c>%RETRY%group</c> subscriptions, client-side rebalance (average allocation), handlers run
/// concurrently while offsets commit the lowest in-flight offset, failures go back with
/// CONSUMER_SEND_MSG_BACK (dead letter after the max reconsume times), NOTIFY_CONSUMER_IDS_CHANGED triggers a
/// rebalance, and a graceful stop commits offsets and unregisters.
/// </summary>
internal sealed class RemotingConsumer : IClusterConsumer
{
    private static readonly TimeSpan PullErrorDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ForcedStopRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ForcedStopGrace = TimeSpan.FromSeconds(10);
    private static readonly string TopicNotExistCode = ResponseCode.TopicNotExist.ToString(CultureInfo.InvariantCulture);

    private readonly RemotingClient _client;
    private readonly ClusterMessageHandler _handler;
    private readonly Dictionary<MessageQueue, ProcessQueue> _queues = [];
    private readonly object _queuesGate = new();
    private readonly SemaphoreSlim _concurrency;
    private readonly SemaphoreSlim _rebalanceLock = new(1, 1);
    private readonly ConcurrentDictionary<Task, byte> _handlerTasks = new();
    private CancellationTokenSource _fetching = new();
    private CancellationTokenSource _handlers = new();
    private readonly string[] _tags;
    private readonly int[] _tagCodes;
    private readonly string _subString;
    private readonly SemaphoreSlim _rebalanceSignal = new(0, int.MaxValue);
    private readonly GroupPositions _positions = new();
    private long _subVersion;
    private Task? _background;
    private int _state; // 0 stopped, 1 running, 2 stopping, 3 disposed

    public RemotingConsumer(RemotingClient client, ConsumerSubscription subscription, ClusterMessageHandler handler)
    {
        _client = client;
        _handler = handler;
        Subscription = subscription;
        WrappedGroup = client.Namespace.Wrap(subscription.Group);
        WrappedTopic = client.Namespace.Wrap(subscription.Topic);
        RetryTopic = MessageConst.RetryTopicOf(WrappedGroup);
        _concurrency = new SemaphoreSlim(Math.Max(1, subscription.MaxConcurrency));
        var expression = subscription.FilterExpression?.Trim();
        if (string.IsNullOrEmpty(expression) || expression == "*")
        {
            _subString = "*";
            _tags = [];
        }
        else
        {
            _subString = expression;
            _tags = expression.Split("||", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        }

        _tagCodes = [.. _tags.Select(JavaStringHash.Compute)];
        _subVersion = client.Time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    public ConsumerSubscription Subscription { get; }

    /// <summary>
    /// True once a rebalance assigned this consumer queues of its topic and the broker answered QUERY_CONSUMER_OFFSET
    /// with an offset, or accepted an UPDATE_CONSUMER_OFFSET (a new group's start position), for every one of them.
    /// </summary>
    public bool IsPositioned => _positions.IsPositioned;

    public string WrappedGroup { get; }

    public string WrappedTopic { get; }

    public string RetryTopic { get; }

    /// <summary>Messages this consumer pulled and has not settled, for <paramref name="wrappedTopic"/>.</summary>
    public long InFlightFor(string wrappedTopic)
    {
        lock (_queuesGate)
        {
            return _queues.Values.Where(q => q.Queue.Topic == wrappedTopic && !q.Dropped).Sum(q => (long)q.InFlightCount);
        }
    }

    /// <summary>The queues of <paramref name="wrappedTopic"/> this consumer owns now, sorted.</summary>
    internal List<MessageQueue> OwnedQueues(string wrappedTopic)
    {
        lock (_queuesGate)
        {
            var owned = _queues.Keys.Where(q => q.Topic == wrappedTopic).ToList();
            owned.Sort();
            return owned;
        }
    }

    internal string ClientId => _client.ClientId;

    public bool IsRunning => Volatile.Read(ref _state) == 1;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _state) == 3, this);
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The consumer is already running; stop it before starting it again.");
        }

        // A restart after StopAsync gets fresh cancellation sources; offsets continue from the broker's commits.
        if (_fetching.IsCancellationRequested)
        {
            _fetching.Dispose();
            _fetching = new CancellationTokenSource();
        }

        if (_handlers.IsCancellationRequested)
        {
            _handlers.Dispose();
            _handlers = new CancellationTokenSource();
        }

        try
        {
            await StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _client.Unregister(this);
            Volatile.Write(ref _state, 0);
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        // The topic's route tells which brokers to heartbeat. The %RETRY% topic is NOT looked up first: a broker
        // creates it only when a HEART_BEAT brings this group's consumer data (ClientManageProcessor.heartBeat →
        // createTopicInSendMessageBackMethod); before that the name server answers TOPIC_NOT_EXIST, and a brand-new
        // group could never start. Heartbeat first; the rebalance then finds the retry route, or tolerates its absence.
        await _client.GetRouteAsync(WrappedTopic, refresh: true, cancellationToken).ConfigureAwait(false);
        _client.Register(this);
        // A broker that refuses this group's heartbeat (ACL) never delivers to it: fail the start, so the refusal and
        // its fix reach the consumer status (LastError) instead of a consumer that looks healthy and reads nothing.
        if (await _client.SendHeartbeatAsync(cancellationToken, WrappedGroup).ConfigureAwait(false) is { } refused)
        {
            throw refused;
        }

        await RebalanceAsync(cancellationToken).ConfigureAwait(false);
        _background = Task.Run(() => BackgroundAsync(_fetching.Token), CancellationToken.None);
    }

    /// <summary>Membership changed (NOTIFY_CONSUMER_IDS_CHANGED, reconnect): rebalance, or while stopping re-check which queues are still ours.</summary>
    public void RequestRebalance()
    {
        if (Volatile.Read(ref _state) is 1 or 2)
        {
            _rebalanceSignal.Release();
        }
    }

    /// <summary>
    /// Writes one group's entry of the heartbeat's <c>consumerDataSet</c> (§2.6) for <paramref name="members"/>, the
    /// consumers of that group on this client: each one's topic subscription, then the group's <c>%RETRY%</c> one.
    /// One entry per group, because the broker replaces the group's subscription table with each entry it reads
    /// (ConsumerGroupInfo.updateSubscription): two entries of one group would drop each other's topics.
    /// </summary>
    public static void WriteConsumerData(Utf8JsonWriter json, IReadOnlyList<RemotingConsumer> members)
    {
        var first = members[0];
        json.WriteStartObject();
        json.WriteString("consumeFromWhere", first._client.Settings.ConsumeFromFirstOffset ? "CONSUME_FROM_FIRST_OFFSET" : "CONSUME_FROM_LAST_OFFSET");
        json.WriteString("consumeType", "CONSUME_PASSIVELY");
        json.WriteString("groupName", first.WrappedGroup);
        json.WriteString("messageModel", "CLUSTERING");
        json.WriteStartArray("subscriptionDataSet");
        var topics = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            if (topics.Add(member.WrappedTopic))
            {
                WriteSubscription(json, member.WrappedTopic, member._subString, member._tags, member._tagCodes, Volatile.Read(ref member._subVersion));
            }
        }

        WriteSubscription(json, first.RetryTopic, "*", [], [], members.Max(m => Volatile.Read(ref m._subVersion)));
        json.WriteEndArray();
        json.WriteBoolean("unitMode", false);
        json.WriteEndObject();
    }

    private static void WriteSubscription(Utf8JsonWriter json, string topic, string subString, string[] tags, int[] codes, long subVersion)
    {
        json.WriteStartObject();
        json.WriteBoolean("classFilterMode", false);
        json.WriteStartArray("codeSet");
        foreach (var code in codes)
        {
            json.WriteNumberValue(code);
        }

        json.WriteEndArray();
        json.WriteString("expressionType", "TAG");
        json.WriteString("subString", subString);
        json.WriteNumber("subVersion", subVersion);
        json.WriteStartArray("tagsSet");
        foreach (var tag in tags)
        {
            json.WriteStringValue(tag);
        }

        json.WriteEndArray();
        json.WriteString("topic", topic);
        json.WriteEndObject();
    }

    private async Task BackgroundAsync(CancellationToken cancellationToken)
    {
        var persist = PersistLoopAsync(cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await _rebalanceSignal.WaitAsync(_client.Settings.RebalanceInterval, cancellationToken).ConfigureAwait(false);

                // Coalesce a burst of notifications into one round.
                while (_rebalanceSignal.CurrentCount > 0)
                {
                    await _rebalanceSignal.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                try
                {
                    await RebalanceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (ClusterTransportException ex)
                {
                    RemotingLog.RebalanceFailed(_client.Logger, _client.Role, Subscription.Group, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        await persist.ConfigureAwait(false);
    }

    private async Task PersistLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_client.Settings.OffsetPersistInterval, _client.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var queue in SnapshotQueues())
                {
                    if (!_positions.IsProven(queue.Queue) && queue.OwnedCommitOffset is { } start)
                    {
                        // The start position was not accepted yet: commit it and wait for the answer, until it is.
                        await CommitAsync(queue, start, cancellationToken).ConfigureAwait(false);
                    }
                    else if (queue.TakeCommitOffset() is { } offset)
                    {
                        await _client.InvokeOneWayAsync(queue.BrokerAddress, QueueOffsets.CommitRequest(WrappedGroup, queue.Queue, offset), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private List<ProcessQueue> SnapshotQueues()
    {
        lock (_queuesGate)
        {
            return [.. _queues.Values];
        }
    }

    /// <summary>One rebalance round over the topic and the retry topic (§5.2).</summary>
    internal async Task RebalanceAsync(CancellationToken cancellationToken)
    {
        await _rebalanceLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var changed = false;
            foreach (var topic in new[] { WrappedTopic, RetryTopic })
            {
                changed |= await RebalanceTopicAsync(topic, cancellationToken).ConfigureAwait(false);
            }

            if (changed)
            {
                Volatile.Write(ref _subVersion, _client.Time.GetUtcNow().ToUnixTimeMilliseconds());
                await _client.SendHeartbeatAsync(cancellationToken, WrappedGroup).ConfigureAwait(false);
            }
        }
        finally
        {
            _rebalanceLock.Release();
        }
    }

    private async Task<bool> RebalanceTopicAsync(string topic, CancellationToken cancellationToken)
    {
        if (await AllocateAsync(topic, cancellationToken).ConfigureAwait(false) is not { } allocation)
        {
            return false;
        }

        var (route, allocated) = allocation;

        List<ProcessQueue> removed;
        List<MessageQueue> added;
        lock (_queuesGate)
        {
            removed = [.. _queues.Values.Where(q => q.Queue.Topic == topic && !allocated.Contains(q.Queue))];
            added = [.. allocated.Where(q => !_queues.ContainsKey(q))];
            foreach (var queue in removed)
            {
                _queues.Remove(queue.Queue);
            }
        }

        foreach (var queue in removed)
        {
            // RebalanceImpl.removeUnnecessaryMessageQueue: persist the offset as the queue leaves. The drop comes first,
            // so nothing (periodic persist, pull flag, stop, a late handler) commits for this queue afterwards.
            var final = queue.Drop();
            await CommitAsync(queue, final, cancellationToken).ConfigureAwait(false);
        }

        foreach (var queue in added)
        {
            var address = route.MasterAddress(queue.BrokerName) ?? route.ReadAddress(queue.BrokerName)!;
            (long Offset, bool Stored) start;
            try
            {
                start = await ComputeStartOffsetAsync(queue, address, cancellationToken).ConfigureAwait(false);
            }
            catch (ClusterTransportException ex)
            {
                // Skip this queue this round (§2.4 "other error").
                RemotingLog.RebalanceFailed(_client.Logger, _client.Role, Subscription.Group, ex);
                continue;
            }

            var processQueue = new ProcessQueue(queue, address, start.Offset);
            if (!start.Stored)
            {
                // A new group's start position lives only here until the broker stores it: commit it now, so the group
                // holds a position (GroupPositions) before any message is sent. Retried by the persist loop if refused.
                await CommitAsync(processQueue, start.Offset, cancellationToken).ConfigureAwait(false);
            }

            lock (_queuesGate)
            {
                _queues[queue] = processQueue;
            }

            processQueue.PullLoop = Task.Run(() => PullLoopAsync(processQueue), CancellationToken.None);
        }

        if (topic == WrappedTopic)
        {
            _positions.Assigned(allocated);
        }

        if (removed.Count > 0 || added.Count > 0)
        {
            RemotingLog.Rebalanced(_client.Logger, _client.Role, Subscription.Group, topic, allocated.Count, string.Join(',', allocated.Select(q => q.QueueId)));
            return true;
        }

        return false;
    }

    /// <summary>
    /// The queues of <paramref name="topic"/> allocated to this client now (§5.2: route × GET_CONSUMER_LIST_BY_GROUP,
    /// averagely); null when either is unknown this round (a retry topic not created yet, no consumer list).
    /// </summary>
    private async Task<(TopicRoute Route, HashSet<MessageQueue> Allocated)?> AllocateAsync(string topic, CancellationToken cancellationToken)
    {
        TopicRoute route;
        try
        {
            route = await _client.GetRouteAsync(topic, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterTransportException ex) when (topic == RetryTopic && ex.StatusCode == TopicNotExistCode)
        {
            // Not created yet (no broker has had our heartbeat, or the name server has not heard from it since):
            // nothing can have been sent back, so there is nothing to consume. Looked up again next round.
            RemotingLog.RetryTopicNotCreatedYet(_client.Logger, _client.Role, Subscription.Group, topic);
            return null;
        }

        var mqAll = route.SubscribeQueues(topic);
        var brokerAddress = mqAll.Select(q => route.ReadAddress(q.BrokerName)).FirstOrDefault(a => a is not null);
        if (brokerAddress is null)
        {
            return null;
        }

        var response = await _client.InvokeAsync(
            brokerAddress,
            RemotingCommand.CreateRequest(RequestCode.GetConsumerListByGroup).Set("consumerGroup", WrappedGroup),
            null,
            "Consumer list lookup",
            cancellationToken).ConfigureAwait(false);
        if (RemotingErrors.IsAclRefusal(response))
        {
            // Not silent: the caller logs it (rebalance) or fails the start with it.
            throw RemotingErrors.FromResponse(_client.Role, response, $"Consumer list lookup of group '{Subscription.Group}'");
        }

        if (response.Code != ResponseCode.Success)
        {
            return null;
        }

        var clientIds = ParseConsumerIds(response.Body.Span);
        return (route, QueueAllocation.Averagely(mqAll, clientIds, _client.ClientId).ToHashSet());
    }

    /// <summary>
    /// While stopping (no more rebalancing), drops every queue the group's current allocation gives to another
    /// client: that client may already be consuming it and committing further, so a late commit from here would move
    /// its offset back. Dropping is for good — a queue that comes back later is not ours to commit any more.
    /// Returns false when the allocation of some topic could not be learned (ownership unknown).
    /// </summary>
    private async Task<bool> DropQueuesOwnedElsewhereAsync(List<ProcessQueue> queues, CancellationToken cancellationToken)
    {
        var known = true;
        foreach (var topic in queues.Where(q => !q.Dropped).Select(q => q.Queue.Topic).Distinct(StringComparer.Ordinal).ToList())
        {
            (TopicRoute Route, HashSet<MessageQueue> Allocated)? allocation;
            try
            {
                allocation = await AllocateAsync(topic, cancellationToken).ConfigureAwait(false);
            }
            catch (ClusterTransportException ex)
            {
                RemotingLog.RebalanceFailed(_client.Logger, _client.Role, Subscription.Group, ex);
                allocation = null;
            }

            if (allocation is not { } found)
            {
                known = false;
                continue;
            }

            var allocated = found.Allocated;

            foreach (var queue in queues.Where(q => q.Queue.Topic == topic && !allocated.Contains(q.Queue)))
            {
                queue.Drop();
            }
        }

        return known;
    }

    internal static List<string> ParseConsumerIds(ReadOnlySpan<byte> body)
    {
        var ids = new List<string>();
        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("consumerIdList"u8))
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    ids.Add(reader.GetString()!);
                }

                break;
            }
        }

        return ids;
    }

    /// <summary>
    /// Where a newly assigned queue starts (§2.4): the group's offset as the broker answers it (Stored, and the queue is
    /// proven), else, for a group with no offset there, 0 on the retry topic or with CONSUME_FROM_FIRST_OFFSET, the max
    /// offset otherwise (not Stored yet).
    /// </summary>
    private async Task<(long Offset, bool Stored)> ComputeStartOffsetAsync(MessageQueue queue, string address, CancellationToken cancellationToken)
    {
        if (await QueueOffsets.QueryAsync(_client, address, RequestCode.QueryConsumerOffset, queue, WrappedGroup, "Consumer offset query", cancellationToken).ConfigureAwait(false) is { } committed)
        {
            _positions.Proven(queue);
            return (committed, true);
        }

        if (queue.Topic.StartsWith(MessageConst.RetryPrefix, StringComparison.Ordinal) || _client.Settings.ConsumeFromFirstOffset)
        {
            return (0, false);
        }

        var max = await QueueOffsets.QueryAsync(_client, address, RequestCode.GetMaxOffset, queue, null, "Max offset query", cancellationToken).ConfigureAwait(false);
        return (max ?? 0, false);
    }

    private async Task PullLoopAsync(ProcessQueue queue)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(queue.Cancellation.Token, _fetching.Token);
        var token = linked.Token;
        var settings = _client.Settings;
        var isRetry = queue.Queue.Topic == RetryTopic;
        var pullTimeout = settings.PullSuspendTimeout + TimeSpan.FromSeconds(15);
        while (!token.IsCancellationRequested)
        {
            try
            {
                var commitOffset = queue.OwnedCommitOffset ?? 0;
                var sysFlag = 2 | 4 | (commitOffset > 0 ? 1 : 0);
                var request = RemotingCommand.CreateRequest(RequestCode.PullMessage)
                    .Set("consumerGroup", WrappedGroup)
                    .Set("topic", queue.Queue.Topic)
                    .Set("queueId", queue.Queue.QueueId)
                    .Set("queueOffset", queue.NextOffset)
                    .Set("maxMsgNums", settings.PullBatchSize)
                    .Set("sysFlag", sysFlag)
                    .Set("commitOffset", commitOffset)
                    .Set("suspendTimeoutMillis", (long)settings.PullSuspendTimeout.TotalMilliseconds)
                    .Set("subscription", isRetry ? "*" : _subString)
                    .Set("subVersion", Volatile.Read(ref _subVersion))
                    .Set("expressionType", "TAG")
                    .Set("bname", queue.Queue.BrokerName);
                var response = await _client.InvokeAsync(queue.BrokerAddress, request, pullTimeout, "Pull", token).ConfigureAwait(false);
                var next = response.GetLong("nextBeginOffset");
                switch (response.Code)
                {
                    case ResponseCode.Success:
                        await DeliverAsync(queue, response, next ?? queue.NextOffset, isRetry, token).ConfigureAwait(false);
                        break;
                    case ResponseCode.PullNotFound or ResponseCode.PullRetryImmediately:
                        queue.Pulled([], next ?? queue.NextOffset);
                        break;
                    case ResponseCode.PullOffsetMoved:
                        // §9 risk 12: adopt nextBeginOffset and persist it, or the consumer loops.
                        var moved = next ?? 0;
                        RemotingLog.OffsetMoved(_client.Logger, _client.Role, queue.Queue.ToString(), queue.NextOffset, moved);
                        queue.Reset(moved);
                        if (queue.OwnedCommitOffset is { } adopted)
                        {
                            await CommitAsync(queue, adopted, token).ConfigureAwait(false);
                        }

                        break;
                    case ResponseCode.FlowControl:
                        await Task.Delay(TimeSpan.FromMilliseconds(20), _client.Time, token).ConfigureAwait(false);
                        break;
                    default:
                        RemotingLog.PullFailed(_client.Logger, _client.Role, queue.Queue.ToString(), RemotingErrors.FromResponse(_client.Role, response, "Pull"));
                        await Task.Delay(PullErrorDelay, _client.Time, token).ConfigureAwait(false);
                        break;
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (ClusterTransportException ex)
            {
                RemotingLog.PullFailed(_client.Logger, _client.Role, queue.Queue.ToString(), ex);
                try
                {
                    await Task.Delay(PullErrorDelay, _client.Time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task DeliverAsync(ProcessQueue queue, RemotingCommand response, long nextBeginOffset, bool isRetry, CancellationToken token)
    {
        var records = MessageRecordCodec.DecodeAll(response.Body);
        var wanted = new List<MessageRecord>(records.Count);
        foreach (var record in records)
        {
            // Client-side re-filter by tag string (§2.3): the broker filtered by hash code only.
            if (isRetry || _tags.Length == 0 || (record.Tag is { } tag && Array.IndexOf(_tags, tag) >= 0))
            {
                wanted.Add(record);
            }
        }

        queue.Pulled(wanted.Select(r => r.QueueOffset), nextBeginOffset);
        foreach (var record in wanted)
        {
            // Backpressure: the pull loop waits for a free handler slot, so at most MaxConcurrency run.
            await _concurrency.WaitAsync(token).ConfigureAwait(false);
            if (token.IsCancellationRequested)
            {
                // A slot freed in the same instant as the stop (or drop) can still be granted: start nothing new.
                _concurrency.Release();
                token.ThrowIfCancellationRequested();
            }

            queue.HandlerStarted();
            var task = HandleAsync(queue, record);
            _handlerTasks.TryAdd(task, 0);
            _ = task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _handlerTasks, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(ProcessQueue queue, MessageRecord record)
    {
        var handlers = _handlers;
        await Task.Yield();
        try
        {
            var message = ToReceivedMessage(record);
            while (true)
            {
                ConsumeOutcome outcome;
                try
                {
                    outcome = await _handler(message, handlers.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    outcome = ConsumeOutcome.Retry();
                }

                if (handlers.IsCancellationRequested)
                {
                    // Forced stop: whatever the handler returned, it did not finish in time, so the message is
                    // never acked. It goes back through the retry topic (§2.9) so the next delivery counts as the
                    // next attempt — a message that always outlives a stop still reaches the dead-letter queue
                    // after the max attempts. If the send-back fails it stays uncommitted and is pulled again.
                    if (await SendBackAsync(queue, record, message, ConsumeOutcome.Retry(ForcedStopRetryDelay)).ConfigureAwait(false))
                    {
                        queue.Settled(record.QueueOffset);
                    }

                    return;
                }

                if (outcome.Acknowledge || await SendBackAsync(queue, record, message, outcome).ConfigureAwait(false))
                {
                    queue.Settled(record.QueueOffset);
                    return;
                }

                // Send-back failed: consume again locally after a pause, keeping the offset uncommitted (§2.9).
                await Task.Delay(TimeSpan.FromSeconds(1), _client.Time, handlers.Token).ConfigureAwait(false);
                message = ToReceivedMessage(record, message.DeliveryAttempt + 1);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            queue.HandlerFinished();
            _concurrency.Release();
        }
    }

    private async Task<bool> SendBackAsync(ProcessQueue queue, MessageRecord record, ReceivedMessage message, ConsumeOutcome outcome)
    {
        var delayLevel = outcome.RetryDelay is { } delay ? MessageConst.DelayLevelFor(delay) : 0;
        var request = RemotingCommand.CreateRequest(RequestCode.ConsumerSendMsgBack)
            .Set("offset", record.PhysicalOffset)
            .Set("group", WrappedGroup)
            .Set("delayLevel", delayLevel)
            .Set("originMsgId", record.MessageId)
            .Set("originTopic", _client.Namespace.Wrap(message.Topic))
            .Set("unitMode", false)
            .Set("maxReconsumeTimes", Math.Max(0, Subscription.MaxDeliveryAttempts - 1))
            .Set("bname", queue.Queue.BrokerName);
        try
        {
            var response = await _client.InvokeAsync(queue.BrokerAddress, request, TimeSpan.FromSeconds(5), "Send-back", CancellationToken.None).ConfigureAwait(false);
            if (response.Code == ResponseCode.Success)
            {
                return true;
            }

            RemotingLog.SendBackFailed(_client.Logger, _client.Role, record.MessageId, RemotingErrors.FromResponse(_client.Role, response, "Send-back"));
        }
        catch (ClusterTransportException ex)
        {
            RemotingLog.SendBackFailed(_client.Logger, _client.Role, record.MessageId, ex);
        }

        return false;
    }

    private ReceivedMessage ToReceivedMessage(MessageRecord record, int? attempt = null)
    {
        var properties = record.Properties;
        var topic = properties.TryGetValue(MessageConst.RetryTopic, out var original) ? original : record.Topic;
        var user = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in properties)
        {
            if (!MessageValidator.IsReservedPropertyName(name) && name != MessageConst.ShardingKey)
            {
                user[name] = value;
            }
        }

        var keys = properties.TryGetValue(MessageConst.Keys, out var keyText)
            ? keyText.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : null;
        return new ReceivedMessage(
            _client.Role,
            _client.Namespace.Unwrap(topic),
            record.MessageId,
            record.Body,
            attempt ?? record.ReconsumeTimes + 1,
            record.Tag,
            keys,
            user,
            properties.TryGetValue(MessageConst.ShardingKey, out var group) ? group : null,
            record.BornTimestamp > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(record.BornTimestamp) : null);
    }

    private async Task CommitAsync(ProcessQueue queue, long offset, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _client.InvokeAsync(queue.BrokerAddress, QueueOffsets.CommitRequest(WrappedGroup, queue.Queue, offset), null, "Offset commit", cancellationToken).ConfigureAwait(false);
            if (response.Code == ResponseCode.Success)
            {
                _positions.Proven(queue.Queue);
            }
            else
            {
                RemotingLog.CommitFailed(_client.Logger, _client.Role, Subscription.Group, RemotingErrors.FromResponse(_client.Role, response, "Offset commit"));
            }
        }
        catch (ClusterTransportException ex)
        {
            RemotingLog.CommitFailed(_client.Logger, _client.Role, Subscription.Group, ex);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 2, 1) != 1)
        {
            return;
        }

        // 1. Stop fetching.
        _fetching.Cancel();
        var queues = SnapshotQueues();
        foreach (var queue in queues)
        {
            queue.Cancellation.Cancel();
        }

        if (_background is not null)
        {
            await _background.ConfigureAwait(false);
        }

        await Task.WhenAll(queues.Select(q => q.PullLoop ?? Task.CompletedTask)).ConfigureAwait(false);

        // 2. Wait for in-flight handlers; on cancellation their tokens fire and their messages go back for redelivery.
        //    Meanwhile this client stays in the group (heartbeats go on) but no longer rebalances, so other members may
        //    take its queues over: watch membership and drop, for good, any queue allocated elsewhere.
        using var watching = new CancellationTokenSource();
        var watch = WatchOwnershipWhileStoppingAsync(queues, watching.Token);
        var forced = false;
        try
        {
            await Task.WhenAll(_handlerTasks.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            forced = true;
            await _handlers.CancelAsync().ConfigureAwait(false);
            try
            {
                // Cancelled handlers send their messages back; one that ignores cancellation longer stays unsettled.
                await Task.WhenAll(_handlerTasks.Keys).WaitAsync(ForcedStopGrace, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        await watching.CancelAsync().ConfigureAwait(false);
        await watch.ConfigureAwait(false);

        // 3. Commit the low-water marks (the lowest unfinished offset of each queue), then unregister (§5.4) so the
        //    group rebalances at once. Never for a queue this node no longer owns: one a forced stop gave up on (a
        //    handler still running — its outcome is unknown), one now allocated to another client, or any queue when
        //    the allocation cannot be learned. Those keep the broker's last commit: redelivery, never a step back.
        if (forced)
        {
            foreach (var queue in queues.Where(q => q.RunningHandlers > 0))
            {
                queue.Drop();
            }
        }

        if (await DropQueuesOwnedElsewhereAsync(queues, CancellationToken.None).ConfigureAwait(false))
        {
            await Task.WhenAll(queues.Select(q => q.OwnedCommitOffset is { } offset ? CommitAsync(q, offset, CancellationToken.None) : Task.CompletedTask)).ConfigureAwait(false);
        }

        _client.Unregister(this);
        foreach (var address in _client.KnownBrokerAddresses())
        {
            try
            {
                await _client.InvokeAsync(
                    address,
                    RemotingCommand.CreateRequest(RequestCode.UnregisterClient).Set("clientID", _client.ClientId).Set("consumerGroup", WrappedGroup),
                    null,
                    "Unregister",
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (ClusterTransportException ex)
            {
                RemotingLog.UnregisterFailed(_client.Logger, _client.Role, _client.ClientId, address, ex);
            }
        }

        lock (_queuesGate)
        {
            _queues.Clear();
        }

        Volatile.Write(ref _state, 0);
    }

    private async Task WatchOwnershipWhileStoppingAsync(List<ProcessQueue> queues, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await _rebalanceSignal.WaitAsync(cancellationToken).ConfigureAwait(false);
                while (_rebalanceSignal.CurrentCount > 0)
                {
                    await _rebalanceSignal.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                await DropQueuesOwnedElsewhereAsync(queues, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) == 1)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await StopAsync(timeout.Token).ConfigureAwait(false);
        }

        if (Interlocked.Exchange(ref _state, 3) == 3)
        {
            return;
        }

        _fetching.Dispose();
        _handlers.Dispose();
        _rebalanceSignal.Dispose();
        _rebalanceLock.Dispose();
        _concurrency.Dispose();
    }
}
