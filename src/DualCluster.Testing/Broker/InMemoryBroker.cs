using System.Globalization;
using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>
/// A RocketMQ-like broker in memory: one per cluster (a test of a migration makes two, Old and New).
/// Topics have queues, each an append-only log with offsets. Consumer groups consume with either model a
/// real cluster offers: <b>pop</b> (5.x: receive with an invisible duration, ack or change the invisible
/// duration by receipt handle, redelivery with attempt counts, dead letter after the group's max attempts)
/// or <b>pull</b> (4.x: pull by queue and offset, commit offsets, send failed messages back to the group's
/// retry topic). Backlog, fault injection (<see cref="Faults"/>) and counters (<see cref="Counters"/>) serve tests.
/// </summary>
/// <remarks>
/// Thread-safe (one lock; every operation is short). Time comes from <see cref="InMemoryBrokerOptions.TimeProvider"/>:
/// with a fake clock nothing becomes visible, expires or is due until the clock is advanced. Random
/// decisions use <see cref="InMemoryBrokerOptions.Seed"/>, so the same sequence of calls gives the same results.
/// </remarks>
public sealed partial class InMemoryBroker
{
    private static int s_instances;

    private readonly object _gate = new();
    private readonly Dictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupState> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Group, string Topic), Subscription> _subscriptions = [];
    private readonly List<InFlightEntry> _expired = [];
    private readonly TimeProvider _time;
    private readonly bool _autoCreateTopics;
    private readonly int _defaultQueueCount;
    private readonly ConsumeStartPosition _newGroupStartPosition;
    private readonly int _defaultMaxDeliveryAttempts;
    private readonly string _idPrefix;
    private long _nextHandleId;
    private long _nextMessageId;

    /// <summary>Creates a broker with default options.</summary>
    public InMemoryBroker()
        : this(new InMemoryBrokerOptions())
    {
    }

    /// <summary>Creates a broker.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count in <paramref name="options"/> is not positive.</exception>
    public InMemoryBroker(InMemoryBrokerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DefaultQueueCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDeliveryAttempts, 1);
        Name = string.IsNullOrWhiteSpace(options.Name)
            ? "broker-" + Interlocked.Increment(ref s_instances).ToString(CultureInfo.InvariantCulture)
            : options.Name;
        _time = options.TimeProvider ?? TimeProvider.System;
        _autoCreateTopics = options.AutoCreateTopics;
        _defaultQueueCount = options.DefaultQueueCount;
        _newGroupStartPosition = options.NewGroupStartPosition;
        _defaultMaxDeliveryAttempts = options.MaxDeliveryAttempts;
        var random = new Random(options.Seed);
        _idPrefix = (Fnv1a(Name) ^ (uint)random.Next()).ToString("X8", CultureInfo.InvariantCulture);
        Faults = new BrokerFaults(_gate, random);
    }

    /// <summary>The broker name (reported as the broker of backlog queues).</summary>
    public string Name { get; }

    /// <summary>The broker's clock.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>Fault injection: failed sends, lost acks, pause/resume, consumer crashes.</summary>
    public BrokerFaults Faults { get; }

    /// <summary>Running totals: stored, acked, redelivered, dead-lettered.</summary>
    public BrokerCounters Counters { get; } = new();

    // ---------------------------------------------------------------- topics

    /// <summary>Creates <paramref name="topic"/> with <paramref name="queueCount"/> queues; does nothing when it exists.</summary>
    /// <returns>True when the topic was created.</returns>
    /// <exception cref="ArgumentException">The topic name is invalid.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="queueCount"/> is not positive.</exception>
    public bool CreateTopic(string topic, int queueCount)
    {
        MessageValidator.ValidateTopic(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCount, 1);
        lock (_gate)
        {
            if (_topics.ContainsKey(topic))
            {
                return false;
            }

            CreateTopicCore(topic, queueCount);
            return true;
        }
    }

    /// <summary>Adds <paramref name="count"/> queues to an existing topic (routes change; groups read new queues from offset 0).</summary>
    /// <returns>The new queue count.</returns>
    /// <exception cref="InMemoryBrokerException">The topic does not exist (<see cref="BrokerStatusCodes.TopicNotFound"/>).</exception>
    public int AddQueues(string topic, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        lock (_gate)
        {
            var state = GetTopic(topic);
            state.AddQueues(count);
            return state.Queues.Count;
        }
    }

    /// <summary>Whether <paramref name="topic"/> exists.</summary>
    public bool TopicExists(string topic)
    {
        lock (_gate)
        {
            return _topics.ContainsKey(topic);
        }
    }

    /// <summary>The number of queues of <paramref name="topic"/>, or 0 when it does not exist.</summary>
    public int GetQueueCount(string topic)
    {
        lock (_gate)
        {
            return _topics.TryGetValue(topic, out var state) ? state.Queues.Count : 0;
        }
    }

    /// <summary>The names of all topics (including retry and dead-letter topics), sorted.</summary>
    public IReadOnlyList<string> GetTopics()
    {
        lock (_gate)
        {
            var names = _topics.Keys.ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    // ---------------------------------------------------------------- send

    /// <summary>
    /// Stores <paramref name="message"/>. A message with a <see cref="OutgoingMessage.MessageGroup"/> goes to a
    /// queue chosen by a stable hash of the group; others go round-robin. A message with a future
    /// <see cref="OutgoingMessage.DeliveryTime"/> is held until due. The broker does not validate the message
    /// beyond its topic (transports do, with <see cref="MessageValidator"/>); the body is copied.
    /// </summary>
    /// <param name="message">The message; its <see cref="OutgoingMessage.IdempotencyKey"/> is stored as the <see cref="MessageProperties.IdempotencyKey"/> property.</param>
    /// <param name="messageId">The sender's message id; null to have the broker generate one.</param>
    /// <param name="queueId">The queue to store into; null to let the broker choose.</param>
    /// <param name="bornTime">When the producer created the message; null for now.</param>
    /// <returns>Where the message was stored.</returns>
    /// <exception cref="InMemoryBrokerException">The cluster is paused, a send failure was injected, or the topic or queue does not exist.</exception>
    public BrokerSendResult Send(OutgoingMessage message, string? messageId = null, int? queueId = null, DateTimeOffset? bornTime = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var properties = PropertyMap.From(message);
        IReadOnlyList<string> keys = message.HasKeys ? [.. message.KeysView] : [];
        var body = message.Body.ToArray();
        lock (_gate)
        {
            try
            {
                Faults.ThrowIfPaused("send");
                Faults.BeforeStore();
            }
            catch (InMemoryBrokerException)
            {
                Counters.AddSendFailed();
                throw;
            }

            var topic = GetOrAutoCreateTopic(message.Topic);
            int queue;
            if (queueId is { } requested)
            {
                CheckQueue(topic, requested);
                queue = requested;
            }
            else if (message.MessageGroup is { } group)
            {
                queue = (int)(Fnv1a(group) % (uint)topic.Queues.Count);
            }
            else
            {
                queue = topic.NextQueue;
                topic.NextQueue = (queue + 1) % topic.Queues.Count;
            }

            var now = _time.GetUtcNow();
            var id = messageId ?? NextMessageId();
            var due = message.DeliveryTime is { } deliveryTime && deliveryTime > now ? deliveryTime : (DateTimeOffset?)null;
            var stored = new StoredMessage(
                topic.Name, queue, due is null ? topic.Queues[queue].Count : -1, id, body, message.Tag, keys, properties, message.MessageGroup, due, bornTime ?? now, now, 0);
            var result = due is { } when
                ? Delay(topic, stored, when.UtcTicks)
                : Append(topic, stored, now);

            if (Faults.TakeFailAfterStoring())
            {
                Counters.AddSendFailed();
                throw new InMemoryBrokerException(BrokerStatusCodes.Timeout, true, "Injected lost send response: the message was stored but the sender is told the request timed out.")
                {
                    StoredMessageId = result.MessageId,
                };
            }

            return result;
        }
    }

    // ---------------------------------------------------------------- groups

    /// <summary>Sets a consumer group's max delivery attempts (pop model) and/or start position; unspecified settings keep their values.</summary>
    /// <exception cref="ArgumentException">The group name is invalid.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxDeliveryAttempts"/> is not positive.</exception>
    public void ConfigureGroup(string group, int? maxDeliveryAttempts = null, ConsumeStartPosition? startPosition = null)
    {
        MessageValidator.ValidateGroup(group);
        if (maxDeliveryAttempts is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        }

        lock (_gate)
        {
            var state = GetGroup(group);
            state.MaxDeliveryAttempts = maxDeliveryAttempts ?? state.MaxDeliveryAttempts;
            state.StartPosition = startPosition ?? state.StartPosition;
        }
    }

    /// <summary>
    /// Registers <paramref name="group"/> as a consumer of <paramref name="topic"/>. The first time, its offsets
    /// are set from its start position: the latest offsets by default, so earlier messages are never delivered
    /// to it. Receiving or pulling registers implicitly; transports call this when a consumer starts.
    /// </summary>
    /// <returns>True when the group was new to the topic.</returns>
    /// <exception cref="InMemoryBrokerException">The topic does not exist and auto-creation is off.</exception>
    public bool Subscribe(string group, string topic)
    {
        MessageValidator.ValidateGroup(group);
        lock (_gate)
        {
            var known = _subscriptions.ContainsKey((group, topic));
            GetSubscription(group, topic);
            return !known;
        }
    }

    // ---------------------------------------------------------------- pop model (5.x)

    /// <summary>
    /// Pops up to <paramref name="maxMessages"/> visible messages of <paramref name="topic"/> for
    /// <paramref name="group"/> whose tag passes <paramref name="filterExpression"/>; messages due for
    /// redelivery come first. Each stays invisible to the group for <paramref name="invisibleDuration"/>,
    /// then is redelivered with the next attempt unless acked. Messages that do not pass the filter are
    /// skipped for this group. Returns at once, possibly empty.
    /// </summary>
    /// <exception cref="InMemoryBrokerException">The cluster is paused or the topic does not exist.</exception>
    public IReadOnlyList<PopDelivery> Receive(string group, string topic, int maxMessages, TimeSpan invisibleDuration, string filterExpression = "*")
    {
        CheckReceive(maxMessages, invisibleDuration);
        lock (_gate)
        {
            Faults.ThrowIfPaused("receive");
            var subscription = GetSubscription(group, topic);
            List<PopDelivery>? result = null;
            ReceiveCore(subscription, maxMessages, invisibleDuration.Ticks, subscription.Filter(filterExpression), _time.GetUtcNow(), ref result);
            return result ?? (IReadOnlyList<PopDelivery>)[];
        }
    }

    /// <summary>
    /// Like <see cref="Receive"/>, but when nothing is visible waits (long poll) until a message arrives or
    /// becomes visible again, or <paramref name="pollTimeout"/> passes on the broker's clock (then returns empty).
    /// </summary>
    /// <exception cref="InMemoryBrokerException">The cluster is paused or the topic does not exist.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired while waiting (nothing was popped).</exception>
    public async ValueTask<IReadOnlyList<PopDelivery>> ReceiveAsync(
        string group,
        string topic,
        int maxMessages,
        TimeSpan invisibleDuration,
        TimeSpan pollTimeout,
        string filterExpression = "*",
        CancellationToken cancellationToken = default)
    {
        CheckReceive(maxMessages, invisibleDuration);
        List<PopDelivery>? result = null;
        var deadline = _time.GetUtcNow() + pollTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task signal;
            TimeSpan wait;
            lock (_gate)
            {
                Faults.ThrowIfPaused("receive");
                var subscription = GetSubscription(group, topic);
                var now = _time.GetUtcNow();
                ReceiveCore(subscription, maxMessages, invisibleDuration.Ticks, subscription.Filter(filterExpression), now, ref result);
                if (result is not null)
                {
                    return result;
                }

                wait = deadline - now;
                if (wait <= TimeSpan.Zero)
                {
                    return [];
                }

                wait = Until(NextDue(subscription), now, wait);
                signal = subscription.Topic.WaitSignal();
            }

            await WaitAsync(signal, wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Receives into <paramref name="into"/> without allocating a result list (for transports on hot paths).
    /// Waits like <see cref="ReceiveAsync(string, string, int, TimeSpan, TimeSpan, string, CancellationToken)"/> when nothing is visible.
    /// </summary>
    /// <returns>How many deliveries were added.</returns>
    internal async ValueTask<int> ReceiveIntoAsync(
        List<PopDelivery> into,
        string group,
        string topic,
        int maxMessages,
        TimeSpan invisibleDuration,
        TimeSpan pollTimeout,
        string filterExpression,
        CancellationToken cancellationToken)
    {
        CheckReceive(maxMessages, invisibleDuration);
        var before = into.Count;
        DateTimeOffset? deadline = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task signal;
            TimeSpan wait;
            lock (_gate)
            {
                Faults.ThrowIfPaused("receive");
                var subscription = GetSubscription(group, topic);
                var now = _time.GetUtcNow();
                List<PopDelivery>? list = into;
                ReceiveCore(subscription, maxMessages, invisibleDuration.Ticks, subscription.Filter(filterExpression), now, ref list);
                if (into.Count > before)
                {
                    return into.Count - before;
                }

                deadline ??= now + pollTimeout;
                wait = deadline.Value - now;
                if (wait <= TimeSpan.Zero)
                {
                    return 0;
                }

                wait = Until(NextDue(subscription), now, wait);
                signal = subscription.Topic.WaitSignal();
            }

            await WaitAsync(signal, wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Acks a delivery by receipt handle: the message is never redelivered to the group.</summary>
    /// <returns>False when the handle is stale: already acked, replaced by <see cref="ChangeInvisibleDuration(string, string, string, TimeSpan)"/>, or past its deadline.</returns>
    /// <exception cref="InMemoryBrokerException">The cluster is paused.</exception>
    public bool Ack(string group, string topic, string receiptHandle)
    {
        lock (_gate)
        {
            Faults.ThrowIfPaused("ack");
            return PopDelivery.TryParseHandle(receiptHandle, out var handleId)
                && _subscriptions.TryGetValue((group, topic), out var subscription)
                && AckCore(subscription, handleId);
        }
    }

    /// <summary>Acks <paramref name="delivery"/>; see <see cref="Ack(string, string, string)"/>.</summary>
    /// <exception cref="InMemoryBrokerException">The cluster is paused.</exception>
    public bool Ack(PopDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        lock (_gate)
        {
            Faults.ThrowIfPaused("ack");
            return AckCore((Subscription)delivery.Subscription, delivery.HandleId);
        }
    }

    /// <summary>
    /// Keeps a delivery invisible for <paramref name="invisibleDuration"/> from now (a negative ack with a
    /// redelivery delay when the consumer gives up on it; <see cref="TimeSpan.Zero"/> makes it visible at once).
    /// When the new deadline passes the message is redelivered with the next attempt, or dead-lettered after
    /// the group's max attempts.
    /// </summary>
    /// <returns>The new receipt handle (the old one goes stale), or null when the handle was already stale.</returns>
    /// <exception cref="InMemoryBrokerException">The cluster is paused.</exception>
    public string? ChangeInvisibleDuration(string group, string topic, string receiptHandle, TimeSpan invisibleDuration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(invisibleDuration, TimeSpan.Zero);
        lock (_gate)
        {
            Faults.ThrowIfPaused("change invisible duration");
            return PopDelivery.TryParseHandle(receiptHandle, out var handleId)
                && _subscriptions.TryGetValue((group, topic), out var subscription)
                && ChangeInvisibleCore(subscription, handleId, invisibleDuration) is { } newHandle
                    ? PopDelivery.FormatHandle(newHandle)
                    : null;
        }
    }

    /// <summary>Changes the invisible duration of <paramref name="delivery"/>; see <see cref="ChangeInvisibleDuration(string, string, string, TimeSpan)"/>.</summary>
    /// <exception cref="InMemoryBrokerException">The cluster is paused.</exception>
    public string? ChangeInvisibleDuration(PopDelivery delivery, TimeSpan invisibleDuration)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentOutOfRangeException.ThrowIfLessThan(invisibleDuration, TimeSpan.Zero);
        lock (_gate)
        {
            Faults.ThrowIfPaused("change invisible duration");
            return ChangeInvisibleCore((Subscription)delivery.Subscription, delivery.HandleId, invisibleDuration) is { } newHandle
                ? PopDelivery.FormatHandle(newHandle)
                : null;
        }
    }

    /// <summary>
    /// Moves a delivery to <paramref name="group"/>'s dead-letter topic at once (the 5.x client's
    /// ForwardMessageToDeadLetterQueue, used when the client itself counts the attempts).
    /// </summary>
    /// <returns>False when the handle is stale (acked, replaced or expired).</returns>
    /// <exception cref="InMemoryBrokerException">The cluster is paused.</exception>
    public bool ForwardToDeadLetter(string group, string topic, string receiptHandle)
    {
        lock (_gate)
        {
            Faults.ThrowIfPaused("forward to dead letter");
            var now = _time.GetUtcNow();
            if (!PopDelivery.TryParseHandle(receiptHandle, out var handleId)
                || !_subscriptions.TryGetValue((group, topic), out var subscription)
                || !subscription.InFlight.TryGetValue(handleId, out var entry)
                || entry.DeadlineTicks <= now.UtcTicks)
            {
                return false;
            }

            subscription.InFlight.Remove(handleId);
            entry.Active = false;
            DeadLetter(group, entry.Message, now);
            return true;
        }
    }

    /// <summary>The messages in <paramref name="group"/>'s dead-letter topic (<c>%DLQ%group</c>), oldest first.</summary>
    public IReadOnlyList<StoredMessage> GetDeadLetters(string group) => GetMessages(BrokerProperties.DeadLetterTopicOf(group));

    // ---------------------------------------------------------------- pull model (4.x)

    /// <summary>
    /// Reads up to <paramref name="maxMessages"/> messages of one queue from <paramref name="offset"/> whose tag
    /// passes <paramref name="filterExpression"/>. Does not move the group's offset (see <see cref="CommitOffset"/>);
    /// registers the group on first use.
    /// </summary>
    /// <exception cref="InMemoryBrokerException">The cluster is paused, or the topic or queue does not exist.</exception>
    public PullResult Pull(string group, string topic, int queueId, long offset, int maxMessages, string filterExpression = "*")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        lock (_gate)
        {
            Faults.ThrowIfPaused("pull");
            var subscription = GetSubscription(group, topic);
            return PullCore(subscription, queueId, offset, maxMessages, subscription.Filter(filterExpression));
        }
    }

    /// <summary>
    /// Like <see cref="Pull"/>, but when the queue has nothing new at <paramref name="offset"/> waits (long poll)
    /// until a message arrives or <paramref name="pollTimeout"/> passes on the broker's clock.
    /// </summary>
    /// <exception cref="InMemoryBrokerException">The cluster is paused, or the topic or queue does not exist.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired while waiting.</exception>
    public async ValueTask<PullResult> PullAsync(
        string group,
        string topic,
        int queueId,
        long offset,
        int maxMessages,
        TimeSpan pollTimeout,
        string filterExpression = "*",
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var deadline = _time.GetUtcNow() + pollTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task signal;
            TimeSpan wait;
            lock (_gate)
            {
                Faults.ThrowIfPaused("pull");
                var subscription = GetSubscription(group, topic);
                var result = PullCore(subscription, queueId, offset, maxMessages, subscription.Filter(filterExpression));
                var now = _time.GetUtcNow();
                wait = deadline - now;
                if (result.Status != PullStatus.NoNewMessage || wait <= TimeSpan.Zero)
                {
                    return result;
                }

                wait = Until(NextDelayed(subscription.Topic), now, wait);
                signal = subscription.Topic.WaitSignal();
            }

            await WaitAsync(signal, wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Records <paramref name="group"/>'s consume offset of one queue (the next offset to consume).</summary>
    /// <exception cref="InMemoryBrokerException">The topic or queue does not exist.</exception>
    public void CommitOffset(string group, string topic, int queueId, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        lock (_gate)
        {
            var subscription = GetSubscription(group, topic);
            CheckQueue(subscription.Topic, queueId);
            EnsureOffsets(subscription);
            subscription.Offsets[queueId] = Math.Min(offset, subscription.Topic.Queues[queueId].Count);
        }
    }

    /// <summary>
    /// <paramref name="group"/>'s consume offset of one queue: -1 when the group never subscribed to the topic
    /// (a 4.x client then applies its own start position), else the committed offset, or the start offset set
    /// when the group subscribed.
    /// </summary>
    public long QueryOffset(string group, string topic, int queueId)
    {
        lock (_gate)
        {
            if (!_subscriptions.TryGetValue((group, topic), out var subscription) || queueId < 0 || queueId >= subscription.Topic.Queues.Count)
            {
                return -1;
            }

            EnsureOffsets(subscription);
            return subscription.Offsets[queueId];
        }
    }

    /// <summary>The lowest offset still stored in a queue (always 0: this broker keeps everything).</summary>
    /// <exception cref="InMemoryBrokerException">The topic or queue does not exist.</exception>
    public long GetMinOffset(string topic, int queueId)
    {
        lock (_gate)
        {
            CheckQueue(GetTopic(topic), queueId);
            return 0;
        }
    }

    /// <summary>The offset the next message stored in a queue will get.</summary>
    /// <exception cref="InMemoryBrokerException">The topic or queue does not exist.</exception>
    public long GetMaxOffset(string topic, int queueId)
    {
        lock (_gate)
        {
            var state = GetTopic(topic);
            CheckQueue(state, queueId);
            PromoteDue(state, _time.GetUtcNow());
            return state.Queues[queueId].Count;
        }
    }

    /// <summary>The message at <paramref name="offset"/> of one queue, or null when there is none.</summary>
    public StoredMessage? GetMessage(string topic, int queueId, long offset)
    {
        lock (_gate)
        {
            return _topics.TryGetValue(topic, out var state)
                && queueId >= 0 && queueId < state.Queues.Count
                && offset >= 0 && offset < state.Queues[queueId].Count
                    ? state.Queues[queueId][(int)offset]
                    : null;
        }
    }

    /// <summary>Every message stored in <paramref name="topic"/> (delayed ones once due), queue by queue in offset order; empty when it does not exist.</summary>
    public IReadOnlyList<StoredMessage> GetMessages(string topic)
    {
        lock (_gate)
        {
            if (!_topics.TryGetValue(topic, out var state))
            {
                return [];
            }

            PromoteDue(state, _time.GetUtcNow());
            return [.. state.Queues.SelectMany(q => q.Enumerate())];
        }
    }

    /// <summary>
    /// Sends a message that <paramref name="group"/> failed to consume back for reconsumption (the 4.x
    /// consumer's send-back): a copy with <see cref="StoredMessage.ReconsumeTimes"/> + 1 and the original topic in
    /// <see cref="BrokerProperties.RetryTopic"/> goes to the group's retry topic <c>%RETRY%group</c> (one queue,
    /// consumable as a normal topic) after <paramref name="delay"/>; once the message was already reconsumed
    /// <paramref name="maxReconsumeTimes"/> times it goes to <c>%DLQ%group</c> instead.
    /// </summary>
    /// <returns>Where the copy went (its <see cref="BrokerSendResult.Topic"/> tells retry from dead letter).</returns>
    /// <exception cref="InMemoryBrokerException">The cluster is paused.</exception>
    public BrokerSendResult SendBack(string group, StoredMessage message, TimeSpan delay, int maxReconsumeTimes = 16)
    {
        MessageValidator.ValidateGroup(group);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(maxReconsumeTimes);
        lock (_gate)
        {
            Faults.ThrowIfPaused("send back");
            var now = _time.GetUtcNow();
            if (message.ReconsumeTimes >= maxReconsumeTimes)
            {
                return DeadLetter(group, message, now);
            }

            var retry = GetOrCreateSystemTopic(BrokerProperties.RetryTopicOf(group));
            var copy = Copy(message, retry.Name, delay > TimeSpan.Zero ? now + delay : null, message.ReconsumeTimes + 1, now, deadLetter: false);
            Counters.AddRedelivered();
            return delay > TimeSpan.Zero ? Delay(retry, copy, (now + delay).UtcTicks) : Append(retry, copy, now);
        }
    }

    // ---------------------------------------------------------------- backlog

    /// <summary>
    /// What <paramref name="group"/> still has to consume of <paramref name="topic"/>, every count known:
    /// Ready (lag across queues), InFlight (popped, not yet acked or expired), Retry (messages of this topic in
    /// the group's retry topic, plus popped messages that expired and wait for redelivery), Delayed (not yet due).
    /// A group that never subscribed is reported with the whole topic as ready.
    /// </summary>
    public BacklogReport GetBacklog(string group, string topic)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (!_topics.TryGetValue(topic, out var state))
            {
                return new BacklogReport { Ready = 0, InFlight = 0, Retry = 0, Delayed = 0, Queues = [], Remark = "topic does not exist" };
            }

            PromoteDue(state, now);
            _subscriptions.TryGetValue((group, topic), out var subscription);
            long inFlight = 0, retry = 0;
            if (subscription is not null)
            {
                ProcessExpired(subscription, now);
                EnsureOffsets(subscription);
                inFlight = subscription.InFlight.Count;
                retry = subscription.Redeliver.Count;
            }

            var queues = new QueueBacklog[state.Queues.Count];
            long ready = 0;
            for (var q = 0; q < queues.Length; q++)
            {
                long max = state.Queues[q].Count;
                var consumed = subscription?.Offsets[q] ?? 0;
                queues[q] = new QueueBacklog(Name, q, max, consumed);
                ready += queues[q].Lag;
            }

            if (_topics.TryGetValue(BrokerProperties.RetryTopicOf(group), out var retryTopic))
            {
                PromoteDue(retryTopic, now);
                _subscriptions.TryGetValue((group, retryTopic.Name), out var retrySubscription);
                if (retrySubscription is not null)
                {
                    ProcessExpired(retrySubscription, now);
                    EnsureOffsets(retrySubscription);
                    foreach (var entry in retrySubscription.InFlight.Values)
                    {
                        retry += entry.Message.OriginalTopic == topic ? 1 : 0;
                    }

                    foreach (var entry in retrySubscription.Redeliver)
                    {
                        retry += entry.Message.OriginalTopic == topic ? 1 : 0;
                    }
                }

                for (var q = 0; q < retryTopic.Queues.Count; q++)
                {
                    var log = retryTopic.Queues[q];
                    for (var i = retrySubscription is null ? 0 : (int)retrySubscription.Offsets[q]; i < log.Count; i++)
                    {
                        retry += log[i].OriginalTopic == topic ? 1 : 0;
                    }
                }

                foreach (var (delayed, _) in retryTopic.Delayed.UnorderedItems)
                {
                    retry += delayed.OriginalTopic == topic ? 1 : 0;
                }
            }

            return new BacklogReport
            {
                Ready = ready,
                InFlight = inFlight,
                Retry = retry,
                Delayed = state.Delayed.Count,
                Queues = queues,
                Remark = subscription is null ? $"group '{group}' has not subscribed to '{topic}': every stored message counts as ready" : null,
            };
        }
    }

    // ---------------------------------------------------------------- internals (under _gate)

    private void ReceiveCore(Subscription subscription, int maxMessages, long invisibleTicks, TagFilter filter, DateTimeOffset now, ref List<PopDelivery>? result)
    {
        var topic = subscription.Topic;
        PromoteDue(topic, now);
        ProcessExpired(subscription, now);
        EnsureOffsets(subscription);
        var count = 0;
        var nowTicks = now.UtcTicks;

        while (count < maxMessages && subscription.Redeliver.TryDequeue(out var redelivery))
        {
            if (!filter.Matches(redelivery.Message.Tag))
            {
                continue;
            }

            Counters.AddRedelivered();
            (result ??= new List<PopDelivery>(Math.Min(maxMessages, 32))).Add(Pop(subscription, redelivery.Message, redelivery.Attempt, nowTicks, invisibleTicks));
            count++;
        }

        var queues = topic.Queues;
        var queueCount = queues.Count;
        for (var i = 0; i < queueCount && count < maxMessages; i++)
        {
            var q = (subscription.NextQueue + i) % queueCount;
            var log = queues[q];
            var offset = (int)subscription.Offsets[q];
            while (offset < log.Count && count < maxMessages)
            {
                var message = log[offset++];
                if (filter.Matches(message.Tag))
                {
                    (result ??= new List<PopDelivery>(Math.Min(maxMessages, 32))).Add(Pop(subscription, message, 1, nowTicks, invisibleTicks));
                    count++;
                }
            }

            subscription.Offsets[q] = offset;
        }

        subscription.NextQueue = (subscription.NextQueue + 1) % queueCount;
    }

    private PopDelivery Pop(Subscription subscription, StoredMessage message, int attempt, long nowTicks, long invisibleTicks)
    {
        var entry = new InFlightEntry(message, attempt)
        {
            HandleId = ++_nextHandleId,
            DeadlineTicks = nowTicks + invisibleTicks,
        };
        subscription.InFlight.Add(entry.HandleId, entry);
        subscription.Track(entry, invisibleTicks);
        return new PopDelivery(message, attempt, entry.HandleId, new DateTimeOffset(entry.DeadlineTicks, TimeSpan.Zero), subscription);
    }

    private bool AckCore(Subscription subscription, long handleId)
    {
        if (!subscription.InFlight.TryGetValue(handleId, out var entry) || entry.DeadlineTicks <= _time.GetUtcNow().UtcTicks)
        {
            return false;
        }

        if (Faults.TakeAckLoss())
        {
            Counters.AddAckLost();
            return true;
        }

        subscription.InFlight.Remove(handleId);
        entry.Active = false;
        Counters.AddAcked();
        return true;
    }

    private long? ChangeInvisibleCore(Subscription subscription, long handleId, TimeSpan invisibleDuration)
    {
        var now = _time.GetUtcNow();
        if (!subscription.InFlight.TryGetValue(handleId, out var entry) || entry.DeadlineTicks <= now.UtcTicks)
        {
            return null;
        }

        subscription.InFlight.Remove(handleId);
        entry.HandleId = ++_nextHandleId;
        entry.DeadlineTicks = now.UtcTicks + invisibleDuration.Ticks;
        entry.Changed = true;
        subscription.InFlight.Add(entry.HandleId, entry);
        subscription.TrackChanged(entry);
        if (invisibleDuration == TimeSpan.Zero)
        {
            ProcessExpired(subscription, now);
        }
        else
        {
            // Long polls waiting on this subscription sized their wait by the old deadline: wake them to re-plan.
            subscription.Topic.Notify();
        }

        return entry.HandleId;
    }

    private void ProcessExpired(Subscription subscription, DateTimeOffset now)
    {
        var expired = _expired;
        subscription.CollectExpired(now.UtcTicks, expired);
        if (expired.Count == 0)
        {
            return;
        }

        foreach (var entry in expired)
        {
            subscription.InFlight.Remove(entry.HandleId);
            if (entry.Attempt >= subscription.Group.MaxDeliveryAttempts)
            {
                DeadLetter(subscription.Group.Name, entry.Message, now);
            }
            else
            {
                subscription.Redeliver.Enqueue(new InFlightEntry(entry.Message, entry.Attempt + 1));
            }
        }

        expired.Clear();
        subscription.Topic.Notify();
    }

    private PullResult PullCore(Subscription subscription, int queueId, long offset, int maxMessages, TagFilter filter)
    {
        var topic = subscription.Topic;
        CheckQueue(topic, queueId);
        PromoteDue(topic, _time.GetUtcNow());
        var log = topic.Queues[queueId];
        long max = log.Count;
        if (offset < 0 || offset > max)
        {
            return new PullResult(PullStatus.OffsetIllegal, [], offset < 0 ? 0 : max, 0, max);
        }

        if (offset == max)
        {
            return new PullResult(PullStatus.NoNewMessage, [], max, 0, max);
        }

        List<StoredMessage>? found = null;
        var i = (int)offset;
        var scanLimit = Math.Max(maxMessages * 4L, 256L);
        for (var scanned = 0L; i < log.Count && (found?.Count ?? 0) < maxMessages && scanned < scanLimit; i++, scanned++)
        {
            if (filter.Matches(log[i].Tag))
            {
                (found ??= []).Add(log[i]);
            }
        }

        return found is null
            ? new PullResult(PullStatus.NoMatchedMessage, [], i, 0, max)
            : new PullResult(PullStatus.Found, found, i, 0, max);
    }

    private BrokerSendResult Append(TopicState topic, StoredMessage message, DateTimeOffset now)
    {
        var log = topic.Queues[message.QueueId];
        var stored = message.QueueOffset == log.Count
            ? message
            : new StoredMessage(
                message.Topic, message.QueueId, log.Count, message.MessageId, message.Body, message.Tag, message.Keys,
                message.Properties, message.MessageGroup, message.DeliveryTime, message.BornTime, message.DeliveryTime is null ? message.StoreTime : now, message.ReconsumeTimes);
        log.Add(stored);
        Counters.AddStored();
        topic.Notify();
        return new BrokerSendResult(stored.MessageId, topic.Name, stored.QueueId, stored.QueueOffset);
    }

    private static BrokerSendResult Delay(TopicState topic, StoredMessage message, long dueTicks)
    {
        topic.Delayed.Enqueue(message, dueTicks);
        return new BrokerSendResult(message.MessageId, topic.Name, message.QueueId, -1);
    }

    private void PromoteDue(TopicState topic, DateTimeOffset now)
    {
        var nowTicks = now.UtcTicks;
        while (topic.Delayed.TryPeek(out var message, out var due) && due <= nowTicks)
        {
            topic.Delayed.Dequeue();
            Append(topic, message, now);
        }
    }

    private BrokerSendResult DeadLetter(string group, StoredMessage message, DateTimeOffset now)
    {
        var dlq = GetOrCreateSystemTopic(BrokerProperties.DeadLetterTopicOf(group));
        Counters.AddDeadLettered();
        return Append(dlq, Copy(message, dlq.Name, null, message.ReconsumeTimes, now, deadLetter: true), now);
    }

    private static StoredMessage Copy(StoredMessage message, string topic, DateTimeOffset? deliveryTime, int reconsumeTimes, DateTimeOffset now, bool deadLetter)
    {
        var properties = new Dictionary<string, string>(message.Properties, StringComparer.Ordinal)
        {
            [BrokerProperties.RetryTopic] = message.OriginalTopic,
        };
        properties.TryAdd(BrokerProperties.OriginMessageId, message.MessageId);
        if (deadLetter)
        {
            properties[BrokerProperties.DeadLetterOriginTopic] = message.OriginalTopic;
        }

        return new StoredMessage(
            topic, 0, -1, message.MessageId, message.Body, message.Tag, message.Keys, properties, message.MessageGroup,
            deliveryTime, message.BornTime, now, reconsumeTimes);
    }

    private Subscription GetSubscription(string group, string topic)
    {
        if (_subscriptions.TryGetValue((group, topic), out var subscription))
        {
            return subscription;
        }

        MessageValidator.ValidateGroup(group);
        var state = GetOrAutoCreateTopic(topic);
        var groupState = GetGroup(group);
        subscription = new Subscription(groupState, state);
        PromoteDue(state, _time.GetUtcNow());
        foreach (var log in state.Queues)
        {
            subscription.Offsets.Add(groupState.StartPosition == ConsumeStartPosition.Latest ? log.Count : 0);
        }

        _subscriptions.Add((group, topic), subscription);
        return subscription;
    }

    private static void EnsureOffsets(Subscription subscription)
    {
        // Queues added after the group subscribed are read from their start, so growing a topic loses nothing.
        while (subscription.Offsets.Count < subscription.Topic.Queues.Count)
        {
            subscription.Offsets.Add(0);
        }
    }

    private GroupState GetGroup(string group)
    {
        if (!_groups.TryGetValue(group, out var state))
        {
            _groups[group] = state = new GroupState(group, _defaultMaxDeliveryAttempts, _newGroupStartPosition);
        }

        return state;
    }

    private TopicState GetTopic(string topic) =>
        _topics.TryGetValue(topic, out var state)
            ? state
            : throw new InMemoryBrokerException(BrokerStatusCodes.TopicNotFound, false, $"Topic '{topic}' does not exist on broker '{Name}': create it first (or enable AutoCreateTopics).");

    private TopicState GetOrAutoCreateTopic(string topic)
    {
        if (_topics.TryGetValue(topic, out var state))
        {
            return state;
        }

        if (!_autoCreateTopics)
        {
            return GetTopic(topic);
        }

        MessageValidator.ValidateTopic(topic);
        return CreateTopicCore(topic, _defaultQueueCount);
    }

    private TopicState GetOrCreateSystemTopic(string topic) =>
        _topics.TryGetValue(topic, out var state) ? state : CreateTopicCore(topic, 1);

    private TopicState CreateTopicCore(string topic, int queueCount)
    {
        var state = new TopicState(topic);
        state.AddQueues(queueCount);
        _topics.Add(topic, state);
        return state;
    }

    private void CheckQueue(TopicState topic, int queueId)
    {
        if (queueId < 0 || queueId >= topic.Queues.Count)
        {
            throw new InMemoryBrokerException(BrokerStatusCodes.QueueNotFound, false, $"Topic '{topic.Name}' on broker '{Name}' has {topic.Queues.Count} queues; queue {queueId} does not exist.");
        }
    }

    private static long? NextDue(Subscription subscription)
    {
        var deadline = subscription.NextDeadline();
        var delayed = NextDelayed(subscription.Topic);
        return deadline is null ? delayed : delayed is null ? deadline : Math.Min(deadline.Value, delayed.Value);
    }

    private static long? NextDelayed(TopicState topic) => topic.Delayed.TryPeek(out _, out var due) ? due : null;

    private static TimeSpan Until(long? dueTicks, DateTimeOffset now, TimeSpan cap)
    {
        if (dueTicks is not { } due)
        {
            return cap;
        }

        var until = TimeSpan.FromTicks(Math.Max(due - now.UtcTicks, TimeSpan.TicksPerMillisecond));
        return until < cap ? until : cap;
    }

    private async Task WaitAsync(Task signal, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(wait, _time, stop.Token);
        await Task.WhenAny(signal, delay).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
    }

    private static void CheckReceive(int maxMessages, TimeSpan invisibleDuration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(invisibleDuration, TimeSpan.Zero);
    }

    private string NextMessageId() =>
        _idPrefix + (++_nextMessageId).ToString("X16", CultureInfo.InvariantCulture);

    private static uint Fnv1a(string value)
    {
        var hash = 2166136261u;
        foreach (var c in value)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
