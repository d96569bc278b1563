using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using Apache.Rocketmq.V2;
using DualCluster.Transport;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// The 5.x producer (fact sheet §4.3): client-side checks, one message id per message reused across retries,
/// round-robin over writable queues of distinct brokers skipping isolated endpoints, FIFO by message group,
/// delay by delivery timestamp, typed errors. Started lazily on the first send of each topic. Thread-safe.
/// </summary>
internal sealed class GrpcProducer : GrpcClient, IClusterProducer
{
    /// <summary>Message groups of this many UTF-8 bytes or more are rejected by the proxy (§5.5).</summary>
    public const int MaxMessageGroupBytes = 64;

    private readonly ConditionalWeakTable<OutgoingMessage, string> _messageIds = [];
    private readonly ConcurrentDictionary<string, byte> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _isolated = new(StringComparer.Ordinal);
    private readonly MessageIdGenerator _ids;
    private int _roundRobin;
    private volatile ServerPublishing _server = ServerPublishing.Default;

    public GrpcProducer(GrpcConnection connection, ILogger logger)
        : base(connection, ClientType.Producer, logger)
    {
        _ids = new MessageIdGenerator(connection.Time);
    }

    /// <summary>Endpoints currently skipped after a failed send (until a heartbeat succeeds).</summary>
    public IReadOnlyCollection<string> IsolatedEndpoints => [.. _isolated.Keys];

    /// <summary>The largest body the server currently allows (its settings override the configured value).</summary>
    public int EffectiveMaxBodySize => _server.MaxBodySize is > 0 and var server ? Math.Min(server, Options.MaxBodySize) : Options.MaxBodySize;

    /// <summary>The id this producer sends <paramref name="message"/> with (generated once, reused on retries).</summary>
    public string MessageIdOf(OutgoingMessage message) => _messageIds.GetValue(message, _ => _ids.Next());

    public async ValueTask<SendReceipt> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        var type = Classify(message, EffectiveMaxBodySize);

        var route = await GetRouteAsync(message.Topic, cancellationToken).ConfigureAwait(false);
        if (route.Writable.Count == 0)
        {
            throw new ClusterTransportException(Role, GrpcErrors.Name(Code.Forbidden), false, $"Topic '{message.Topic}' has no writable queue on this cluster.");
        }

        var server = _server;
        var candidates = PickQueues(route, message.MessageGroup, server.MaxAttempts);
        var accepted = candidates[0].Queue.AcceptMessageTypes;
        if (server.ValidateMessageType && accepted.Count > 0 && !accepted.Contains(type))
        {
            // §4.3 step 5: fail locally, as the proxy would with MESSAGE_PROPERTY_CONFLICT_WITH_TYPE.
            throw new ClusterTransportException(Role, GrpcErrors.Name(Code.MessagePropertyConflictWithType), false,
                $"Topic '{message.Topic}' accepts {string.Join(", ", accepted)} messages, not {type}: " +
                "send to a topic of that type, or drop MessageGroup (FIFO) / DeliveryTime (delay) from the message.");
        }

        var messageId = MessageIdOf(message);
        var attempts = Math.Max(1, server.MaxAttempts);
        for (var attempt = 1; ; attempt++)
        {
            var target = candidates[(attempt - 1) % candidates.Count];
            var request = new SendMessageRequest { Messages = { ToProto(message, messageId, type, target.Queue.Id) } };
            try
            {
                return await SendOnceAsync(request, target, messageId, cancellationToken).ConfigureAwait(false);
            }
            catch (ClusterTransportException ex) when (ex.IsTransient && !cancellationToken.IsCancellationRequested)
            {
                // Skip this endpoint until a heartbeat to it succeeds (§4.3 step 7), even after the last attempt.
                _isolated[target.Endpoint.Key] = Connection.Time.GetUtcNow();
                GrpcLog.SendAttemptFailed(Logger, ex, Role, messageId, target.Endpoint.Key, attempt);
                if (attempt >= attempts)
                {
                    throw;
                }

                if (ex.StatusCode == GrpcErrors.Name(Code.TooManyRequests))
                {
                    // §4.3 step 7: only throttling waits for the back-off; other errors move on at once.
                    await Task.Delay(server.Backoff(attempt), Connection.Time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// The client-side checks of §4.3 step 1 (shared limits, plus the 5.x message-group length of §5.5) and the
    /// message type of step 2: FIFO with a message group, DELAY with a delivery time (exclusive), else NORMAL.
    /// </summary>
    /// <exception cref="ArgumentException">The message breaks a limit.</exception>
    public static MessageType Classify(OutgoingMessage message, int maxBodySize)
    {
        MessageValidator.Validate(message, maxBodySize);
        if (message.MessageGroup is { } group)
        {
            var bytes = System.Text.Encoding.UTF8.GetByteCount(group);
            if (bytes >= MaxMessageGroupBytes)
            {
                throw new ArgumentException(
                    $"MessageGroup is {bytes} UTF-8 bytes; RocketMQ 5.x accepts fewer than {MaxMessageGroupBytes}: shorten it (a hash of the business key works).",
                    nameof(message));
            }

            return MessageType.Fifo;
        }

        return message.DeliveryTime is not null ? MessageType.Delay : MessageType.Normal;
    }

    public override void ApplyServerSettings(Settings settings)
    {
        if (settings.Publishing is not { } publishing)
        {
            return;
        }

        var policy = settings.BackoffPolicy;
        var exponential = policy?.ExponentialBackoff;
        _server = new ServerPublishing(
            MaxAttempts: policy is { MaxAttempts: > 0 } ? policy.MaxAttempts : ServerPublishing.Default.MaxAttempts,
            Initial: exponential?.Initial?.ToTimeSpan() ?? ServerPublishing.Default.Initial,
            Max: exponential?.Max?.ToTimeSpan() ?? ServerPublishing.Default.Max,
            Multiplier: exponential is { Multiplier: > 0 } ? exponential.Multiplier : ServerPublishing.Default.Multiplier,
            // §9.5: 0 means "no limit" on the proxy; keep our own limit then.
            MaxBodySize: publishing.MaxBodySize,
            ValidateMessageType: publishing.ValidateMessageType);
    }

    protected override void FillSettings(Settings settings)
    {
        var publishing = new Publishing();
        foreach (var topic in _topics.Keys)
        {
            publishing.Topics.Add(Connection.Resource(topic));
        }

        settings.Publishing = publishing;
        settings.BackoffPolicy = new RetryPolicy
        {
            MaxAttempts = _server.MaxAttempts,
            ExponentialBackoff = new ExponentialBackoff { Initial = new Duration(), Max = new Duration(), Multiplier = 1 },
        };
    }

    protected override void OnTopicAdding(string topic) => _topics.TryAdd(topic, 0);

    protected override void OnEndpointHealthy(GrpcEndpoint endpoint) => _isolated.TryRemove(endpoint.Key, out _);

    protected override HeartbeatRequest CreateHeartbeat() => new() { ClientType = ClientType.Producer };

    protected override NotifyClientTerminationRequest CreateTermination() => new();

    private async Task<SendReceipt> SendOnceAsync(SendMessageRequest request, RoutedQueue target, string messageId, CancellationToken cancellationToken)
    {
        SendMessageResponse response;
        try
        {
            response = await Connection.Client(target.Endpoint)
                .SendMessageAsync(request, Connection.CallOptions(ClientId, Options.RequestTimeout, cancellationToken))
                .ConfigureAwait(false);
        }
        catch (RpcException ex) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up: whether the broker stored the message is unknown, which a retry with the same id covers.
            throw new OperationCanceledException($"SendMessage of {messageId} cancelled.", GrpcErrors.Scrub(ex), cancellationToken);
        }
        catch (RpcException ex)
        {
            throw GrpcErrors.FromRpc(Role, ex, $"SendMessage of {messageId}", target.Endpoint, Options.HasCredentials);
        }

        // §4.3 step 7: the first OK entry wins, else the top-level status.
        foreach (var entry in response.Entries)
        {
            if (entry.Status is { Code: Code.Ok })
            {
                return new SendReceipt(Role, string.IsNullOrEmpty(entry.MessageId) ? messageId : entry.MessageId, -1, entry.Offset);
            }
        }

        var status = response.Entries.Count > 0 && response.Status is not { Code: not Code.Ok and not Code.MultipleResults }
            ? response.Entries[0].Status
            : response.Status;
        throw GrpcErrors.FromStatus(Role, status, $"SendMessage of {messageId} to {target.Endpoint.Key}");
    }

    private List<RoutedQueue> PickQueues(TopicRoute route, string? messageGroup, int attempts)
    {
        var writable = route.Writable;
        if (messageGroup is not null)
        {
            // FIFO: one queue by a stable hash of the group (the proxy re-picks its own anyway, §5.5).
            var hash = XxHash32.HashToUInt32(System.Text.Encoding.UTF8.GetBytes(messageGroup));
            return [writable[(int)(hash % (uint)writable.Count)]];
        }

        var start = Interlocked.Increment(ref _roundRobin);
        var picked = new List<RoutedQueue>(Math.Min(attempts, writable.Count));
        var brokers = new HashSet<string>(StringComparer.Ordinal);
        // First pass: healthy endpoints on distinct brokers; then anything, so a send is never refused locally.
        for (var pass = 0; pass < 2 && picked.Count < attempts; pass++)
        {
            for (var i = 0; i < writable.Count && picked.Count < attempts; i++)
            {
                var candidate = writable[(int)((uint)(start + i) % (uint)writable.Count)];
                var broker = candidate.Queue.Broker.Name;
                if (pass == 0 && (_isolated.ContainsKey(candidate.Endpoint.Key) || !brokers.Add(broker)))
                {
                    continue;
                }

                if (pass == 1 && picked.Contains(candidate))
                {
                    continue;
                }

                picked.Add(candidate);
            }
        }

        return picked;
    }

    private Message ToProto(OutgoingMessage message, string messageId, MessageType type, int queueId)
    {
        var system = new SystemProperties
        {
            MessageId = messageId,
            BodyEncoding = Apache.Rocketmq.V2.Encoding.Identity,
            MessageType = type,
            BornTimestamp = Timestamp.FromDateTimeOffset(Connection.Time.GetUtcNow()),
            BornHost = ClientIdentity.HostName,
            QueueId = queueId,
        };
        if (message.Tag is { } tag)
        {
            system.Tag = tag;
        }

        if (message.HasKeys)
        {
            system.Keys.AddRange(message.KeysView);
        }

        if (message.MessageGroup is { } group)
        {
            system.MessageGroup = group;
        }

        if (message.DeliveryTime is { } delivery)
        {
            system.DeliveryTimestamp = Timestamp.FromDateTimeOffset(delivery);
        }

        var proto = new Message
        {
            Topic = Connection.Resource(message.Topic),
            SystemProperties = system,
            // The caller must not mutate the message during the send (OutgoingMessage contract): no copy.
            Body = UnsafeByteOperations.UnsafeWrap(message.Body),
        };
        if (message.HasProperties)
        {
            proto.UserProperties.Add(message.Properties);
        }

        if (message.IdempotencyKey is { } key)
        {
            proto.UserProperties[MessageProperties.IdempotencyKey] = key;
        }

        return proto;
    }

    private sealed record ServerPublishing(int MaxAttempts, TimeSpan Initial, TimeSpan Max, float Multiplier, int MaxBodySize, bool ValidateMessageType)
    {
        public static ServerPublishing Default { get; } = new(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1), 2, 0, false);

        public TimeSpan Backoff(int attempt)
        {
            var ticks = Initial.Ticks * Math.Pow(Multiplier, attempt - 1);
            return TimeSpan.FromTicks((long)Math.Min(ticks, Max.Ticks));
        }
    }
}
