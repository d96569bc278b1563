using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Threading.Channels;
using Apache.Rocketmq.V2;
using DualCluster.Transport;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// The 5.x push consumer (fact sheet §4.6): QueryAssignment on a schedule, one long-polling ReceiveMessage loop per
/// assigned queue, a bounded local cache, at most <see cref="ConsumerSubscription.MaxConcurrency"/> handlers at once,
/// AckMessage on success, ChangeInvisibleDuration with back-off on failure (keeping the receipt handle the server
/// returns), ForwardMessageToDeadLetterQueue after the subscription's attempts, and a graceful stop that drains,
/// hands back what was not handled and sends NotifyClientTermination.
/// </summary>
internal sealed class GrpcPushConsumer : GrpcClient, IClusterConsumer
{
    private static readonly TimeSpan MinInvisible = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxInvisible = TimeSpan.FromHours(12);

    private readonly ClusterMessageHandler _handler;
    private readonly ConcurrentDictionary<string, ReceiveLoop> _loops = new(StringComparer.Ordinal);
    private readonly Channel<Delivery> _cache = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly SemaphoreSlim _cacheSlots;
    private readonly CancellationTokenSource _receiving = new();
    private readonly CancellationTokenSource _handling = new();
    private readonly object _stateGate = new();
    private Task[] _workers = [];
    private Task? _assignmentLoop;
    private bool _started;
    private bool _stopped;
    private volatile ServerSubscription _server;

    public GrpcPushConsumer(GrpcConnection connection, ConsumerSubscription subscription, ClusterMessageHandler handler, ILogger logger)
        : base(connection, ClientType.PushConsumer, logger)
    {
        Subscription = subscription;
        _handler = handler;
        _cacheSlots = new SemaphoreSlim(Options.ConsumerCacheSize, Options.ConsumerCacheSize);
        _server = new ServerSubscription(32, Options.LongPollingTimeout, null);
    }

    public ConsumerSubscription Subscription { get; }

    /// <summary>Raised after each assignment scan (tests wait on it).</summary>
    public event Action? AssignmentScanned;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateGate)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            if (_started)
            {
                return;
            }

            _started = true;
        }

        try
        {
            // §4.2: route, Telemetry + settings (inside GetRouteAsync), then a heartbeat that registers the consumer.
            var route = await GetRouteAsync(Subscription.Topic, cancellationToken).ConfigureAwait(false);
            foreach (var endpoint in route.Endpoints)
            {
                await HeartbeatAsync(endpoint, cancellationToken).ConfigureAwait(false);
            }

            await ScanAssignmentsAsync(throwOnError: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_stateGate)
            {
                _started = false;
            }

            throw;
        }

        _workers = [.. Enumerable.Range(0, Subscription.MaxConcurrency).Select(_ => Task.Run(WorkAsync, CancellationToken.None))];
        _assignmentLoop = Task.Run(AssignmentLoopAsync, CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateGate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
        }

        // 1. Stop fetching: cancel the long polls (§4.7).
        await _receiving.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops.Values.Select(l => l.Task).Append(_assignmentLoop ?? Task.CompletedTask)).ConfigureAwait(false);
        _cache.Writer.TryComplete();

        // 2. Let in-flight handlers finish (cached but unstarted messages are handed back by the workers).
        var workers = Task.WhenAll(_workers);
        try
        {
            await workers.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _handling.CancelAsync().ConfigureAwait(false);
            await workers.ConfigureAwait(false);
        }

        // 3. Goodbye.
        await ShutdownAsync().ConfigureAwait(false);
    }

    public new async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(Options.ShutdownTimeout);
        await StopAsync(cts.Token).ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
        _receiving.Dispose();
        _handling.Dispose();
    }

    public override void ApplyServerSettings(Settings settings)
    {
        if (settings.Subscription is not { } subscription)
        {
            return;
        }

        var batch = subscription.HasReceiveBatchSize && subscription.ReceiveBatchSize > 0 ? Math.Min(subscription.ReceiveBatchSize, 32) : 32;
        var longPolling = subscription.LongPollingTimeout?.ToTimeSpan() is { } lp && lp > TimeSpan.Zero ? lp : Options.LongPollingTimeout;
        _server = new ServerSubscription(batch, longPolling, settings.BackoffPolicy);
    }

    protected override void FillSettings(Settings settings)
    {
        settings.Subscription = new Apache.Rocketmq.V2.Subscription
        {
            Group = Connection.Resource(Subscription.Group),
            Subscriptions =
            {
                new SubscriptionEntry
                {
                    Topic = Connection.Resource(Subscription.Topic),
                    Expression = new FilterExpression { Type = FilterType.Tag, Expression = Subscription.FilterExpression },
                },
            },
        };
    }

    protected override HeartbeatRequest CreateHeartbeat() =>
        new() { ClientType = ClientType.PushConsumer, Group = Connection.Resource(Subscription.Group) };

    protected override NotifyClientTerminationRequest CreateTermination() => new() { Group = Connection.Resource(Subscription.Group) };

    private async Task AssignmentLoopAsync()
    {
        using var timer = new PeriodicTimer(Options.AssignmentScanInterval, Connection.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_receiving.Token).ConfigureAwait(false))
            {
                await ScanAssignmentsAsync(throwOnError: false, _receiving.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ScanAssignmentsAsync(bool throwOnError, CancellationToken cancellationToken)
    {
        try
        {
            var route = await GetRouteAsync(Subscription.Topic, cancellationToken).ConfigureAwait(false);
            // §4.6 step 1: ask the first readable master broker of the route.
            var target = route.Queues
                .Where(q => q.Broker is { Id: 0 } && q.Permission is Permission.Read or Permission.ReadWrite)
                .Select(q => GrpcEndpoint.FromProto(q.Broker.Endpoints, Options.AccessPoint.Tls))
                .FirstOrDefault(e => e is not null) ?? route.Endpoints[0];
            var request = new QueryAssignmentRequest
            {
                Topic = Connection.Resource(Subscription.Topic),
                Group = Connection.Resource(Subscription.Group),
                Endpoints = Options.AccessPoint.ToProto(),
            };
            QueryAssignmentResponse response;
            try
            {
                response = await Connection.Client(target)
                    .QueryAssignmentAsync(request, Connection.CallOptions(ClientId, Options.RequestTimeout, cancellationToken))
                    .ConfigureAwait(false);
            }
            catch (RpcException ex)
            {
                throw GrpcErrors.FromRpc(Role, ex, "QueryAssignment", target);
            }

            if (response.Status?.Code == Code.UnrecognizedClientType)
            {
                await ResyncSettingsAsync(target).ConfigureAwait(false);
            }

            GrpcErrors.ThrowIfNotOk(Role, response.Status, $"QueryAssignment of {Subscription.Group}/{Subscription.Topic}");
            ApplyAssignments(response.Assignments);
        }
        catch (ClusterTransportException ex) when (!throwOnError)
        {
            GrpcLog.AssignmentFailed(Logger, ex, Role, Subscription.Group, Subscription.Topic);
        }
        catch (OperationCanceledException) when (!throwOnError)
        {
        }

        AssignmentScanned?.Invoke();
    }

    private void ApplyAssignments(IEnumerable<Assignment> assignments)
    {
        var wanted = new Dictionary<string, (MessageQueue Queue, GrpcEndpoint Endpoint)>(StringComparer.Ordinal);
        foreach (var assignment in assignments)
        {
            if (assignment.MessageQueue is { } queue && GrpcEndpoint.FromProto(queue.Broker?.Endpoints, Options.AccessPoint.Tls) is { } endpoint)
            {
                wanted[$"{queue.Broker!.Name}/{queue.Id}@{endpoint.Key}"] = (queue, endpoint);
            }
        }

        lock (_stateGate)
        {
            if (_stopped)
            {
                return;
            }

            foreach (var (key, loop) in _loops)
            {
                if (!wanted.ContainsKey(key) && _loops.TryRemove(key, out _))
                {
                    loop.Cancel();
                }
            }

            foreach (var (key, target) in wanted)
            {
                if (!_loops.ContainsKey(key))
                {
                    var loop = new ReceiveLoop(_receiving.Token);
                    _loops[key] = loop;
                    loop.Task = Task.Run(() => ReceiveLoopAsync(target.Queue, target.Endpoint, loop.Token), CancellationToken.None);
                }
            }
        }
    }

    private async Task ReceiveLoopAsync(MessageQueue queue, GrpcEndpoint endpoint, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var reserved = 0;
            try
            {
                // Bounded local cache: hold a slot per message before asking for it.
                await _cacheSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                reserved = 1;
                var server = _server;
                while (reserved < server.BatchSize && _cacheSlots.Wait(0, CancellationToken.None))
                {
                    reserved++;
                }

                var received = await ReceiveAsync(queue, endpoint, reserved, server, cancellationToken).ConfigureAwait(false);
                foreach (var delivery in received)
                {
                    _cache.Writer.TryWrite(delivery);
                }

                var unused = reserved - received.Count;
                reserved = 0;
                if (unused > 0)
                {
                    _cacheSlots.Release(unused);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (ClusterTransportException ex)
            {
                GrpcLog.ReceiveFailed(Logger, ex, Role, endpoint.Key, Subscription.Group, Subscription.Topic);
                if (ex.StatusCode == GrpcErrors.Name(Code.UnrecognizedClientType))
                {
                    await ResyncSettingsAsync(endpoint).ConfigureAwait(false);
                }

                var delay = ex.StatusCode == GrpcErrors.Name(Code.TooManyRequests) ? TimeSpan.FromMilliseconds(20) : TimeSpan.FromSeconds(1);
                await DelayQuietlyAsync(delay, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (reserved > 0)
                {
                    _cacheSlots.Release(reserved);
                }
            }
        }
    }

    private async Task<List<Delivery>> ReceiveAsync(MessageQueue queue, GrpcEndpoint endpoint, int batchSize, ServerSubscription server, CancellationToken cancellationToken)
    {
        var invisible = Subscription.InvisibleDuration < MinInvisible ? MinInvisible : Subscription.InvisibleDuration > MaxInvisible ? MaxInvisible : Subscription.InvisibleDuration;
        var request = new ReceiveMessageRequest
        {
            Group = Connection.Resource(Subscription.Group),
            MessageQueue = queue,
            FilterExpression = new FilterExpression { Type = FilterType.Tag, Expression = Subscription.FilterExpression },
            BatchSize = batchSize,
            // We settle every message ourselves within the subscription's invisible duration (and extend it from the
            // returned handle when needed), so no server-side auto-renew; the proxy requires ≥ 10 s then (§5.7).
            AutoRenew = false,
            InvisibleDuration = Duration.FromTimeSpan(invisible),
            LongPollingTimeout = Duration.FromTimeSpan(server.LongPolling),
            AttemptId = Guid.NewGuid().ToString(),
        };
        var deliveries = new List<Delivery>(batchSize);
        Apache.Rocketmq.V2.Status? status = null;
        try
        {
            using var call = Connection.Client(endpoint).ReceiveMessage(
                request, Connection.CallOptions(ClientId, Options.RequestTimeout + server.LongPolling, cancellationToken));
            while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var response = call.ResponseStream.Current;
                switch (response.ContentCase)
                {
                    case ReceiveMessageResponse.ContentOneofCase.Status:
                        status = response.Status;
                        break;
                    case ReceiveMessageResponse.ContentOneofCase.Message:
                        deliveries.Add(new Delivery(response.Message, endpoint));
                        break;
                }
            }
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (deliveries.Count > 0)
            {
                // Keep what arrived: it is invisible on the server and must be settled.
                return deliveries;
            }

            throw GrpcErrors.FromRpc(Role, ex, "ReceiveMessage", endpoint);
        }
        catch (RpcException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        if (deliveries.Count == 0)
        {
            // §4.4: MESSAGE_NOT_FOUND is an empty result; no status at all is a server fault.
            if (status is null)
            {
                throw new ClusterTransportException(Role, GrpcErrors.Name(Code.InternalServerError), true, "ReceiveMessage ended without a status.");
            }

            if (status.Code != Code.MessageNotFound)
            {
                GrpcErrors.ThrowIfNotOk(Role, status, $"ReceiveMessage of {Subscription.Group}/{Subscription.Topic}");
            }
        }

        return deliveries;
    }

    private async Task WorkAsync()
    {
        await foreach (var delivery in _cache.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (_receiving.IsCancellationRequested)
                {
                    // Stopping: fetched but not handled → hand it back for redelivery now.
                    await ChangeInvisibleAsync(delivery, TimeSpan.Zero, "hand back").ConfigureAwait(false);
                    continue;
                }

                await HandleAsync(delivery).ConfigureAwait(false);
            }
            finally
            {
                _cacheSlots.Release();
            }
        }
    }

    private async Task HandleAsync(Delivery delivery)
    {
        var message = delivery.Message;
        var system = message.SystemProperties;
        var attempt = system.HasDeliveryAttempt && system.DeliveryAttempt > 0 ? system.DeliveryAttempt : 1;
        ConsumeOutcome outcome;
        if (!TryDecode(message, out var body))
        {
            GrpcLog.CorruptedMessage(Logger, Role, system.MessageId, Subscription.Topic);
            outcome = ConsumeOutcome.Retry();
        }
        else
        {
            var received = new ReceivedMessage(
                Role,
                string.IsNullOrEmpty(message.Topic?.Name) ? Subscription.Topic : message.Topic.Name,
                system.MessageId,
                body,
                attempt,
                system.HasTag ? system.Tag : null,
                system.Keys.Count == 0 ? null : [.. system.Keys],
                message.UserProperties.Count == 0 ? null : new Dictionary<string, string>(message.UserProperties, StringComparer.Ordinal),
                system.HasMessageGroup ? system.MessageGroup : null,
                system.BornTimestamp?.ToDateTimeOffset());
            try
            {
                outcome = await _handler(received, _handling.Token).ConfigureAwait(false);
            }
            catch (Exception) when (!_handling.IsCancellationRequested)
            {
                outcome = ConsumeOutcome.Retry();
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        if (_handling.IsCancellationRequested)
        {
            // Forced stop: outcomes are ignored and the message is left for redelivery (never acked).
            return;
        }

        if (outcome.Acknowledge)
        {
            await AckAsync(delivery).ConfigureAwait(false);
        }
        else if (attempt >= Subscription.MaxDeliveryAttempts)
        {
            await ForwardToDeadLetterAsync(delivery, attempt).ConfigureAwait(false);
        }
        else
        {
            await ChangeInvisibleAsync(delivery, outcome.RetryDelay ?? _server.Backoff(attempt), "retry").ConfigureAwait(false);
        }
    }

    private async Task AckAsync(Delivery delivery)
    {
        var request = new AckMessageRequest
        {
            Group = Connection.Resource(Subscription.Group),
            Topic = Connection.Resource(Subscription.Topic),
            Entries = { new AckMessageEntry { MessageId = delivery.Message.SystemProperties.MessageId, ReceiptHandle = delivery.ReceiptHandle } },
        };
        await SettleAsync(delivery, "ack", async ct =>
        {
            var response = await Connection.Client(delivery.Endpoint)
                .AckMessageAsync(request, Connection.CallOptions(ClientId, Options.RequestTimeout, ct)).ConfigureAwait(false);
            var status = response.Entries.Count > 0 ? response.Entries[0].Status : response.Status;
            GrpcErrors.ThrowIfNotOk(Role, status, "AckMessage");
        }).ConfigureAwait(false);
    }

    private async Task ChangeInvisibleAsync(Delivery delivery, TimeSpan delay, string what)
    {
        var duration = delay > MaxInvisible ? MaxInvisible : delay;
        await SettleAsync(delivery, what, async ct =>
        {
            var request = new ChangeInvisibleDurationRequest
            {
                Group = Connection.Resource(Subscription.Group),
                Topic = Connection.Resource(Subscription.Topic),
                ReceiptHandle = delivery.ReceiptHandle,
                InvisibleDuration = Duration.FromTimeSpan(duration),
                MessageId = delivery.Message.SystemProperties.MessageId,
            };
            var response = await Connection.Client(delivery.Endpoint)
                .ChangeInvisibleDurationAsync(request, Connection.CallOptions(ClientId, Options.RequestTimeout, ct)).ConfigureAwait(false);
            GrpcErrors.ThrowIfNotOk(Role, response.Status, "ChangeInvisibleDuration");
            // §9.7: the server answers with a new handle; later calls for this delivery must use it.
            if (!string.IsNullOrEmpty(response.ReceiptHandle))
            {
                delivery.ReceiptHandle = response.ReceiptHandle;
            }
        }).ConfigureAwait(false);
    }

    private async Task ForwardToDeadLetterAsync(Delivery delivery, int attempt)
    {
        var request = new ForwardMessageToDeadLetterQueueRequest
        {
            Group = Connection.Resource(Subscription.Group),
            Topic = Connection.Resource(Subscription.Topic),
            ReceiptHandle = delivery.ReceiptHandle,
            MessageId = delivery.Message.SystemProperties.MessageId,
            DeliveryAttempt = attempt,
            MaxDeliveryAttempts = Subscription.MaxDeliveryAttempts,
        };
        await SettleAsync(delivery, "dead-letter", async ct =>
        {
            var response = await Connection.Client(delivery.Endpoint)
                .ForwardMessageToDeadLetterQueueAsync(request, Connection.CallOptions(ClientId, Options.RequestTimeout, ct)).ConfigureAwait(false);
            GrpcErrors.ThrowIfNotOk(Role, response.Status, "ForwardMessageToDeadLetterQueue");
        }).ConfigureAwait(false);
    }

    /// <summary>Runs a settle call, retrying transient failures a few times (§4.6: the official client retries every 1 s).</summary>
    private async Task SettleAsync(Delivery delivery, string what, Func<CancellationToken, Task> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call(CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is RpcException or ClusterTransportException)
            {
                var transient = ex is RpcException rpc ? GrpcErrors.IsTransient(rpc.StatusCode) : ((ClusterTransportException)ex).IsTransient;
                if (!transient || attempt >= 3)
                {
                    GrpcLog.SettleFailed(Logger, ex, Role, delivery.Message.SystemProperties.MessageId, Subscription.Group, Subscription.Topic, what);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), Connection.Time).ConfigureAwait(false);
            }
        }
    }

    private static bool TryDecode(Message message, out ReadOnlyMemory<byte> body)
    {
        var system = message.SystemProperties;
        var raw = message.Body.Memory;
        body = raw;
        if (system.BodyDigest is { } digest && !DigestMatches(digest, raw.Span))
        {
            return false;
        }

        if (system.BodyEncoding != Apache.Rocketmq.V2.Encoding.Gzip)
        {
            return true;
        }

        // §5.4: "GZIP" may be zlib from 4.x producers: sniff the magic bytes.
        try
        {
            using var input = new MemoryStream(message.Body.ToByteArray());
            using Stream inflater = raw.Span is [0x1F, 0x8B, ..] ? new GZipStream(input, CompressionMode.Decompress) : new ZLibStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            inflater.CopyTo(output);
            body = output.ToArray();
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Primitives", Justification = "Integrity check mandated by the RocketMQ protocol, not security.")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "Integrity check mandated by the RocketMQ protocol, not security.")]
    private static bool DigestMatches(Digest digest, ReadOnlySpan<byte> body) => digest.Type switch
    {
        DigestType.Md5 => string.Equals(Convert.ToHexString(MD5.HashData(body)), digest.Checksum, StringComparison.OrdinalIgnoreCase),
        DigestType.Sha1 => string.Equals(Convert.ToHexString(SHA1.HashData(body)), digest.Checksum, StringComparison.OrdinalIgnoreCase),
        // §5.3: CRC32 is rendered without zero padding.
        DigestType.Crc32 => string.Equals(System.IO.Hashing.Crc32.HashToUInt32(body).ToString("X", System.Globalization.CultureInfo.InvariantCulture), digest.Checksum, StringComparison.OrdinalIgnoreCase),
        _ => true,
    };

    private static async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class Delivery(Message message, GrpcEndpoint endpoint)
    {
        public Message Message { get; } = message;

        public GrpcEndpoint Endpoint { get; } = endpoint;

        public string ReceiptHandle { get; set; } = message.SystemProperties.ReceiptHandle;
    }

    private sealed class ReceiveLoop(CancellationToken parent)
    {
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(parent);

        public CancellationToken Token => _cts.Token;

        public Task Task { get; set; } = Task.CompletedTask;

        public void Cancel() => _cts.Cancel();
    }

    private sealed record ServerSubscription(int BatchSize, TimeSpan LongPolling, RetryPolicy? Backoff_)
    {
        private static readonly TimeSpan[] DefaultSteps =
            [.. new[] { 1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200 }.Select(s => TimeSpan.FromSeconds(s))];

        /// <summary>Redelivery delay after failed attempt <paramref name="attempt"/> (§2.1 RetryPolicy).</summary>
        public TimeSpan Backoff(int attempt)
        {
            if (Backoff_?.CustomizedBackoff is { Next.Count: > 0 } custom)
            {
                return custom.Next[Math.Min(attempt, custom.Next.Count) - 1].ToTimeSpan();
            }

            if (Backoff_?.ExponentialBackoff is { } exponential)
            {
                var initial = exponential.Initial?.ToTimeSpan() ?? TimeSpan.FromSeconds(1);
                var max = exponential.Max?.ToTimeSpan() ?? TimeSpan.FromMinutes(10);
                var ticks = initial.Ticks * Math.Pow(exponential.Multiplier > 0 ? exponential.Multiplier : 2, attempt - 1);
                return TimeSpan.FromTicks((long)Math.Min(ticks, max.Ticks));
            }

            return DefaultSteps[Math.Min(attempt, DefaultSteps.Length) - 1];
        }
    }
}
