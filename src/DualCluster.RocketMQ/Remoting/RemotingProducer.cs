using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using DualCluster.Transport;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Sends with SEND_MESSAGE_V2 (fact sheet §2.2): UNIQ_KEY generated once per message and kept across
/// retries, round-robin queue selection avoiding brokers that just failed, message group → one fixed
/// queue, delay levels (or TDMQ's <c>__STARTDELIVERTIME</c>), zlib above a size threshold. Thread-safe.
/// </summary>
internal sealed class RemotingProducer : IClusterProducer
{
    private static readonly ConditionalWeakTable<OutgoingMessage, string> s_uniqueKeys = new();

    /// <summary>a–n without l, plus room for the ACL fields (AccessKey, Signature, SecurityToken).</summary>
    private const int SendHeaderFields = 16;

    private readonly RemotingClient _client;
    private readonly ConcurrentDictionary<string, long> _faultyBrokers = new(StringComparer.Ordinal);
    private int _roundRobin = Random.Shared.Next(1024);

    public RemotingProducer(RemotingClient client) => _client = client;

    public async ValueTask<SendReceipt> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        var settings = _client.Settings;
        MessageValidator.Validate(message, settings.MaxBodySize);
        var uniqueKey = s_uniqueKeys.GetValue(message, _ => _client.UniqueKeys.Next());
        var wrappedTopic = _client.Namespace.Wrap(message.Topic);
        var properties = BuildProperties(message, uniqueKey);
        if (Encoding.UTF8.GetByteCount(properties) > short.MaxValue)
        {
            throw new ArgumentException("Encoded message properties exceed 32767 bytes, the 4.x limit; remove properties or keys.", nameof(message));
        }

        var body = message.Body;
        var sysFlag = 0;
        if (body.Length >= settings.CompressOverBytes && settings.CompressOverBytes > 0)
        {
            body = MessageRecordCodec.Compress(body.Span);
            sysFlag |= MessageRecordCodec.CompressedFlag | MessageRecordCodec.ZlibCompressionType;
        }

        var route = await GetPublishRouteAsync(wrappedTopic, cancellationToken).ConfigureAwait(false);
        var queues = route.PublishQueues(wrappedTopic);
        if (queues.Count == 0)
        {
            throw new ClusterTransportException(_client.Role, null, true, $"Topic '{message.Topic}' has no writable queue with a master broker right now.");
        }

        var attempts = 1 + Math.Max(0, settings.SendRetries);
        string? lastBroker = null;
        ClusterTransportException? lastError = null;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            if (attempt > 0)
            {
                route = await GetPublishRouteAsync(wrappedTopic, cancellationToken).ConfigureAwait(false);
                queues = route.PublishQueues(wrappedTopic);
                if (queues.Count == 0)
                {
                    break;
                }
            }

            var queue = message.MessageGroup is { } group ? SelectOrdered(queues, group) : Select(queues, lastBroker);
            lastBroker = queue.BrokerName;
            var address = route.MasterAddress(queue.BrokerName)!;
            var request = RemotingCommand.CreateRequest(RequestCode.SendMessageV2, new Dictionary<string, string>(SendHeaderFields, StringComparer.Ordinal), body)
                .Set("a", _client.Namespace.Wrap(settings.ProducerGroup))
                .Set("b", wrappedTopic)
                .Set("c", MessageConst.AutoCreateTopic)
                .Set("d", 4)
                .Set("e", queue.QueueId)
                .Set("f", sysFlag)
                .Set("g", _client.Time.GetUtcNow().ToUnixTimeMilliseconds())
                .Set("h", 0)
                .Set("i", properties)
                .Set("j", 0)
                .Set("k", false)
                .Set("m", false)
                .Set("n", queue.BrokerName);
            RemotingCommand response;
            try
            {
                response = await _client.InvokeAsync(address, request, null, $"Send to topic '{message.Topic}'", cancellationToken).ConfigureAwait(false);
            }
            catch (ClusterTransportException ex)
            {
                MarkFaulty(queue.BrokerName);
                lastError = ex;
                continue;
            }

            if (ResponseCode.IsStored(response.Code))
            {
                return new SendReceipt(
                    _client.Role,
                    uniqueKey,
                    response.GetInt("queueId") ?? queue.QueueId,
                    response.GetLong("queueOffset") ?? -1);
            }

            lastError = RemotingErrors.FromResponse(_client.Role, response, $"Send to topic '{message.Topic}'");

            // An ACL refusal is about the credentials, not the broker: another attempt gets the same answer, and
            // avoiding the broker would only steer this producer's other sends away from a healthy one.
            if (RemotingErrors.IsAclRefusal(response))
            {
                throw lastError;
            }

            // Java retries these on another broker (§2.2); everything else is final.
            if (response.Code is ResponseCode.TopicNotExist or ResponseCode.ServiceNotAvailable or ResponseCode.SystemError
                or ResponseCode.NoPermission or ResponseCode.NoBuyerId or ResponseCode.NotInCurrentUnit or ResponseCode.SystemBusy)
            {
                MarkFaulty(queue.BrokerName);
                continue;
            }

            throw lastError;
        }

        throw lastError ?? new ClusterTransportException(_client.Role, null, true, $"Topic '{message.Topic}' has no writable queue right now.");
    }

    private async ValueTask<TopicRoute> GetPublishRouteAsync(string wrappedTopic, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.GetRouteAsync(wrappedTopic, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterTransportException ex) when (ex.StatusCode == "17")
        {
            // Unknown topic: send with the auto-create template's route (§2.1); the broker creates the topic if allowed.
            return await _client.GetRouteAsync(MessageConst.AutoCreateTopic, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private MessageQueue Select(IReadOnlyList<MessageQueue> queues, string? avoidBroker)
    {
        var now = _client.Time.GetTimestamp();
        for (var i = 0; i < queues.Count; i++)
        {
            var candidate = queues[(int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)queues.Count)];
            if (candidate.BrokerName != avoidBroker && IsAvailable(candidate.BrokerName, now))
            {
                return candidate;
            }
        }

        // Everything is suspect: take the next queue anyway, preferring another broker than the last failure.
        var fallback = queues[(int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)queues.Count)];
        if (fallback.BrokerName == avoidBroker)
        {
            foreach (var queue in queues)
            {
                if (queue.BrokerName != avoidBroker)
                {
                    return queue;
                }
            }
        }

        return fallback;
    }

    /// <summary>A message group always maps to the same queue (stable Java string hash), so its order holds.</summary>
    internal static MessageQueue SelectOrdered(IReadOnlyList<MessageQueue> queues, string group)
    {
        var hash = JavaStringHash.Compute(group);
        var index = (int)((uint)(hash == int.MinValue ? 0 : Math.Abs(hash)) % (uint)queues.Count);
        return queues[index];
    }

    /// <summary>Whether sends currently avoid <paramref name="broker"/> after a failure (for tests).</summary>
    internal bool IsAvoiding(string broker) => !IsAvailable(broker, _client.Time.GetTimestamp());

    private bool IsAvailable(string broker, long now) => !_faultyBrokers.TryGetValue(broker, out var until) || now >= until;

    private void MarkFaulty(string broker) =>
        _faultyBrokers[broker] = _client.Time.GetTimestamp() + (long)(_client.Settings.FaultAvoidance.TotalSeconds * _client.Time.TimestampFrequency);

    private string BuildProperties(OutgoingMessage message, string uniqueKey)
    {
        var properties = new List<KeyValuePair<string, string>>(8)
        {
            new(MessageConst.UniqKey, uniqueKey),
            new(MessageConst.Wait, "true"),
        };
        if (message.Tag is { } tag)
        {
            properties.Add(new(MessageConst.Tags, tag));
        }

        if (message.HasKeys)
        {
            properties.Add(new(MessageConst.Keys, string.Join(' ', message.KeysView)));
        }

        if (message.MessageGroup is { } group)
        {
            properties.Add(new(MessageConst.ShardingKey, group));
        }

        if (message.DeliveryTime is { } deliveryTime)
        {
            var delay = deliveryTime - _client.Time.GetUtcNow();
            if (delay > TimeSpan.Zero)
            {
                properties.Add(_client.Settings.UseStartDeliverTime
                    ? new(MessageConst.StartDeliverTime, deliveryTime.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture))
                    : new(MessageConst.Delay, MessageConst.DelayLevelFor(delay).ToString(CultureInfo.InvariantCulture)));
            }
        }

        if (message.IdempotencyKey is { } idempotencyKey)
        {
            properties.Add(new(MessageProperties.IdempotencyKey, idempotencyKey));
        }

        if (_client.Namespace.Name is { } ns)
        {
            properties.Add(new(MessageConst.InstanceId, ns));
        }

        foreach (var property in message.PropertiesView)
        {
            properties.Add(property);
        }

        return MessagePropertyCodec.Encode(properties);
    }
}
