using System.Collections.Concurrent;
using System.Threading.Channels;
using Apache.Rocketmq.V2;
using DualCluster.Transport;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// One run of a 5.x push consumer (fact sheet §4.6), from start to stop: QueryAssignment on a schedule, one
/// long-polling ReceiveMessage loop per assigned queue, a bounded local cache, at most
/// <see cref="ConsumerSubscription.MaxConcurrency"/> handlers at once, AckMessage on success, ChangeInvisibleDuration
/// with back-off on failure (keeping the receipt handle the server returns), ForwardMessageToDeadLetterQueue after the
/// subscription's attempts, and a stop that drains, hands back what was not handled and sends NotifyClientTermination.
/// Not restartable: <see cref="GrpcPushConsumer"/> creates a new one per start.
/// </summary>
internal sealed class PushConsumerClient : GrpcClient
{
    /// <summary>Without auto-renew the proxy requires an invisible duration of at least 10 s (§5.7).</summary>
    public static readonly TimeSpan MinInvisibleDuration = TimeSpan.FromSeconds(10);

    /// <summary>Largest invisible duration the proxy accepts (§5.7).</summary>
    public static readonly TimeSpan MaxInvisibleDuration = TimeSpan.FromHours(12);

    /// <summary>The broker rejects larger receive batches (§5.7).</summary>
    public const int MaxBatchSize = 32;

    private readonly ConsumerSubscription _subscription;
    private readonly ClusterMessageHandler _handler;
    private readonly ConcurrentDictionary<string, ReceiveLoop> _loops = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Task> _loopTasks = [];
    private readonly ConcurrentDictionary<string, Lazy<AckBatcher>> _ackers = new(StringComparer.Ordinal);
    private readonly Channel<WorkItem> _cache = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly SemaphoreSlim _cacheSlots;
    private readonly CancellationTokenSource _receiving = new();
    private readonly CancellationTokenSource _handling = new();
    private readonly object _stateGate = new();
    private Task[] _workers = [];
    private Task _assignmentLoop = Task.CompletedTask;
    private bool _stopping;
    private volatile bool _positioned;
    private volatile ServerSubscription _server;

    public PushConsumerClient(GrpcConnection connection, ConsumerSubscription subscription, ClusterMessageHandler handler, ILogger logger)
        : base(connection, ClientType.PushConsumer, logger)
    {
        _subscription = subscription;
        _handler = handler;
        _cacheSlots = new SemaphoreSlim(Options.ConsumerCacheSize, Options.ConsumerCacheSize);
        _server = new ServerSubscription(MaxBatchSize, Options.LongPollingTimeout, Fifo: false, null);
    }

    /// <summary>Raised after each assignment scan (tests wait on it).</summary>
    public event Action? AssignmentScanned;

    /// <summary>Queues this run currently long-polls.</summary>
    public int ActiveReceiveLoops => _loops.Count;

    /// <summary>
    /// True once an assignment gave this run queues and a receive was answered on every one of them: the proxy pops
    /// for the group there, which initializes the group's position on the queue (the broker's consumer offset). Stays true.
    /// </summary>
    public bool IsPositioned => _positioned;

    /// <summary>Whether the server said the group consumes in order (Subscription.fifo).</summary>
    public bool IsOrdered => _server.Fifo;

    /// <summary>
    /// Starts in the order of §4.2: route and Telemetry with settings (the server's answer applied), a heartbeat that
    /// registers the consumer with each broker, a first assignment scan; then the receive loops, workers and schedules.
    /// </summary>
    /// <exception cref="ClusterTransportException">The cluster refused or could not be reached; nothing keeps running.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var route = await GetRouteAsync(_subscription.Topic, cancellationToken).ConfigureAwait(false);
        foreach (var endpoint in route.Endpoints)
        {
            await HeartbeatAsync(endpoint, cancellationToken).ConfigureAwait(false);
        }

        await ScanAssignmentsAsync(throwOnError: true, cancellationToken).ConfigureAwait(false);
        _workers = [.. Enumerable.Range(0, _subscription.MaxConcurrency).Select(_ => Task.Run(WorkAsync, CancellationToken.None))];
        _assignmentLoop = Task.Run(AssignmentLoopAsync, CancellationToken.None);
    }

    /// <summary>
    /// Stops fetching, waits for in-flight handlers (settling what completed), hands back what was fetched but not
    /// handled, then says goodbye (NotifyClientTermination) and closes the streams. When
    /// <paramref name="cancellationToken"/> fires, handlers are cancelled and their messages handed back, never acked.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_stateGate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
        }

        // 1. Stop fetching: cancel the long polls and the assignment scans (§4.7).
        await _receiving.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll([.. _loopTasks, _assignmentLoop]).ConfigureAwait(false);
        _cache.Writer.TryComplete();

        // 2. Let in-flight handlers finish; workers hand back cached messages they had not started.
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

        // 3. Send the acks still queued, then say goodbye.
        await Task.WhenAll(_ackers.Values.Select(a => a.Value.CompleteAsync())).ConfigureAwait(false);

        await ShutdownAsync().ConfigureAwait(false);
        _receiving.Dispose();
        _handling.Dispose();
    }

    public override void ApplyServerSettings(Settings settings)
    {
        if (settings.Subscription is not { } subscription)
        {
            return;
        }

        // §6.3: guard against absent or zero values rather than copying them blindly.
        var batch = subscription.HasReceiveBatchSize && subscription.ReceiveBatchSize > 0 ? Math.Min(subscription.ReceiveBatchSize, MaxBatchSize) : MaxBatchSize;
        var longPolling = subscription.LongPollingTimeout?.ToTimeSpan() is { } lp && lp > TimeSpan.Zero ? lp : Options.LongPollingTimeout;
        _server = new ServerSubscription(batch, longPolling, subscription.HasFifo && subscription.Fifo, settings.BackoffPolicy);
    }

    protected override void FillSettings(Settings settings)
    {
        settings.Subscription = new Apache.Rocketmq.V2.Subscription
        {
            Group = Connection.Resource(_subscription.Group),
            Subscriptions =
            {
                new SubscriptionEntry
                {
                    Topic = Connection.Resource(_subscription.Topic),
                    Expression = Filter(),
                },
            },
        };
    }

    protected override HeartbeatRequest CreateHeartbeat() =>
        new() { ClientType = ClientType.PushConsumer, Group = Connection.Resource(_subscription.Group) };

    protected override NotifyClientTerminationRequest CreateTermination() => new() { Group = Connection.Resource(_subscription.Group) };

    /// <summary>The invisible duration asked for on receive: the subscription's, within the proxy's bounds.</summary>
    internal static TimeSpan ReceiveInvisibleDuration(TimeSpan requested) =>
        requested < MinInvisibleDuration ? MinInvisibleDuration : requested > MaxInvisibleDuration ? MaxInvisibleDuration : requested;

    private FilterExpression Filter() => new()
    {
        Type = FilterType.Tag,
        Expression = string.IsNullOrWhiteSpace(_subscription.FilterExpression) ? "*" : _subscription.FilterExpression.Trim(),
    };

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
            var route = await GetRouteAsync(_subscription.Topic, cancellationToken).ConfigureAwait(false);
            // §4.6 step 1: ask a readable master broker of the route (the first one; any proxy answers for the cluster).
            var target = route.Queues
                .Where(q => q.Broker is { Id: 0 } && q.Permission is Permission.Read or Permission.ReadWrite)
                .Select(q => GrpcEndpoint.FromProto(q.Broker.Endpoints, Options.AccessPoint.Tls))
                .FirstOrDefault(e => e is not null) ?? route.Endpoints[0];
            var request = new QueryAssignmentRequest
            {
                Topic = Connection.Resource(_subscription.Topic),
                Group = Connection.Resource(_subscription.Group),
                Endpoints = Options.AccessPoint.ToProto(),
            };
            QueryAssignmentResponse response;
            try
            {
                response = await Connection.Client(target)
                    .QueryAssignmentAsync(request, Connection.CallOptions(ClientId, Options.RequestTimeout, cancellationToken))
                    .ConfigureAwait(false);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw GrpcErrors.FromRpc(Role, ex, "QueryAssignment", target, Options.HasCredentials);
            }

            if (response.Status?.Code == Code.UnrecognizedClientType)
            {
                await ResyncSettingsAsync(target).ConfigureAwait(false);
            }

            GrpcErrors.ThrowIfNotOk(Role, response.Status, $"QueryAssignment of {_subscription.Group}/{_subscription.Topic}");
            // §4.6 step 1: an OK answer with no assignment drops every receive loop; an error keeps them.
            ApplyAssignments(response.Assignments);
        }
        catch (ClusterTransportException ex) when (!throwOnError)
        {
            GrpcLog.AssignmentFailed(Logger, ex, Role, _subscription.Group, _subscription.Topic);
        }
        catch (Exception ex) when (!throwOnError && ex is OperationCanceledException or RpcException)
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
            if (_stopping)
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
                    // More than one receive outstanding per queue, so a batch is on its way while the handlers work
                    // (issue 13: one outstanding receive fell a second behind a 2.5k msg/s producer); FIFO keeps one.
                    var receivers = _server.Fifo ? 1 : Options.ReceivesPerQueue;
                    var loop = new ReceiveLoop(receivers, _receiving.Token);
                    _loops[key] = loop;
                    for (var i = 0; i < receivers; i++)
                    {
                        // Retired loops are awaited at stop too: what they fetched must reach the cache before it closes.
                        _loopTasks.Add(Task.Run(() => ReceiveLoopAsync(target.Queue, target.Endpoint, loop), CancellationToken.None));
                    }
                }
            }

            EvaluatePositioned();
        }
    }

    /// <summary>Latches <see cref="IsPositioned"/> once queues are assigned and each answered a receive.</summary>
    private void EvaluatePositioned()
    {
        lock (_stateGate)
        {
            if (!_positioned && !_loops.IsEmpty && _loops.Values.All(l => l.Answered))
            {
                _positioned = true;
            }
        }
    }

    private async Task ReceiveLoopAsync(MessageQueue queue, GrpcEndpoint endpoint, ReceiveLoop loop)
    {
        var cancellationToken = loop.Token;
        string? attemptId = null;
        try
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

                    attemptId ??= Guid.NewGuid().ToString();
                    var received = await ReceiveAsync(queue, endpoint, reserved, server, attemptId, cancellationToken).ConfigureAwait(false);
                    attemptId = null;
                    if (!loop.Answered)
                    {
                        loop.Answered = true;
                        EvaluatePositioned();
                    }
                    if (received.Count > 0)
                    {
                        Dispatch(received, server.Fifo);
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
                    // §2.4 attempt_id: re-use it after a deadline so the server may return the same batch.
                    if (ex.StatusCode != GrpcErrors.Name(StatusCode.DeadlineExceeded))
                    {
                        attemptId = null;
                    }

                    GrpcLog.ReceiveFailed(Logger, ex, Role, endpoint.Key, _subscription.Group, _subscription.Topic);
                    if (ex.StatusCode == GrpcErrors.Name(Code.UnrecognizedClientType))
                    {
                        await ResyncSettingsAsync(endpoint).ConfigureAwait(false);
                    }

                    // §4.6 step 2: throttled → 20 ms, other errors → 1 s.
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
        finally
        {
            loop.Dispose();
        }
    }

    private void Dispatch(List<Delivery> received, bool ordered)
    {
        if (ordered)
        {
            // FIFO group: one worker handles the batch in order (§4.6 step 4).
            _cache.Writer.TryWrite(new WorkItem(null, received));
            return;
        }

        foreach (var delivery in received)
        {
            _cache.Writer.TryWrite(new WorkItem(delivery, null));
        }
    }

    private async Task<List<Delivery>> ReceiveAsync(
        MessageQueue queue, GrpcEndpoint endpoint, int batchSize, ServerSubscription server, string attemptId, CancellationToken cancellationToken)
    {
        var request = new ReceiveMessageRequest
        {
            Group = Connection.Resource(_subscription.Group),
            MessageQueue = queue,
            FilterExpression = Filter(),
            BatchSize = batchSize,
            // Every message is settled by us within the subscription's invisible duration, so no server-side
            // auto-renew; the proxy then requires 10 s ≤ invisible duration ≤ 12 h (§5.7).
            AutoRenew = false,
            InvisibleDuration = Duration.FromTimeSpan(ReceiveInvisibleDuration(_subscription.InvisibleDuration)),
            LongPollingTimeout = Duration.FromTimeSpan(server.LongPolling),
            AttemptId = attemptId,
        };
        var deliveries = new List<Delivery>(batchSize);
        Apache.Rocketmq.V2.Status? status = null;
        try
        {
            // §4.1: receive deadline = request timeout + long polling.
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
                        deliveries.Add(new Delivery(response.Message, endpoint, Connection.Time.GetUtcNow()));
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException)
        {
            // What arrived is invisible on the server and must be settled (or handed back), whatever broke the stream.
            if (deliveries.Count > 0)
            {
                return deliveries;
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (ex is RpcException rpc)
            {
                throw GrpcErrors.FromRpc(Role, rpc, "ReceiveMessage", endpoint, Options.HasCredentials);
            }

            throw;
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
                GrpcErrors.ThrowIfNotOk(Role, status, $"ReceiveMessage of {_subscription.Group}/{_subscription.Topic}");
            }
        }

        return deliveries;
    }

    private async Task WorkAsync()
    {
        await foreach (var item in _cache.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (item.Single is { } single)
            {
                try
                {
                    await HandleAsync(single).ConfigureAwait(false);
                }
                finally
                {
                    _cacheSlots.Release();
                }

                continue;
            }

            var batch = item.Ordered!;
            try
            {
                TimeSpan? hold = null;
                foreach (var delivery in batch)
                {
                    if (hold is { } delay)
                    {
                        // An earlier message of this ordered batch is coming back later: so do the ones after it.
                        await ChangeInvisibleAsync(delivery, delay, "hold in order", MaxSettleAttempts).ConfigureAwait(false);
                        continue;
                    }

                    hold = await HandleAsync(delivery).ConfigureAwait(false);
                }
            }
            finally
            {
                _cacheSlots.Release(batch.Count);
            }
        }
    }

    private const int MaxSettleAttempts = 3;

    /// <summary>Handles and settles one delivery; returns the redelivery delay when it was not acked, else null.</summary>
    private async Task<TimeSpan?> HandleAsync(Delivery delivery)
    {
        if (_receiving.IsCancellationRequested)
        {
            // Stopping: fetched but not handled → hand it back for redelivery now.
            await ChangeInvisibleAsync(delivery, TimeSpan.Zero, "hand back", _handling.IsCancellationRequested ? 1 : MaxSettleAttempts).ConfigureAwait(false);
            return TimeSpan.Zero;
        }

        var system = delivery.Message.SystemProperties;
        var attempt = system.HasDeliveryAttempt && system.DeliveryAttempt > 0 ? system.DeliveryAttempt : 1;
        ConsumeOutcome outcome;
        if (DeliveredMessage.Decode(Role, _subscription.Topic, delivery.Message, attempt, out var received) is not null)
        {
            GrpcLog.CorruptedMessage(Logger, Role, delivery.MessageId, _subscription.Topic);
            outcome = ConsumeOutcome.Retry();
        }
        else
        {
            var renewal = Options.KeepInvisibleWhileHandling ? new InvisibilityRenewal(this, delivery) : null;
            try
            {
                outcome = await _handler(received!, _handling.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                GrpcLog.HandlerFailed(Logger, ex, Role, delivery.MessageId, _subscription.Group, _subscription.Topic);
                outcome = ConsumeOutcome.Retry();
            }
            finally
            {
                // Settle only once no renewal is in flight, so the ack or nack carries the newest handle (§9.7).
                if (renewal is not null)
                {
                    await renewal.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        if (_handling.IsCancellationRequested)
        {
            // Forced stop: the outcome is ignored and the message never acked; hand it back (one try) for redelivery.
            await ChangeInvisibleAsync(delivery, TimeSpan.Zero, "hand back", 1).ConfigureAwait(false);
            return TimeSpan.Zero;
        }

        if (outcome.Acknowledge)
        {
            await AckAsync(delivery).ConfigureAwait(false);
            return null;
        }

        if (attempt >= _subscription.MaxDeliveryAttempts)
        {
            await ForwardToDeadLetterAsync(delivery, attempt).ConfigureAwait(false);
            return null;
        }

        var retryDelay = outcome.RetryDelay ?? _server.Backoff(attempt);
        await ChangeInvisibleAsync(delivery, retryDelay, "retry", MaxSettleAttempts).ConfigureAwait(false);
        return retryDelay;
    }

    private Task AckAsync(Delivery delivery) =>
        SettleAsync(delivery, "ack", MaxSettleAttempts, _ =>
            _ackers.GetOrAdd(delivery.Endpoint.Key, static (_, state) => new Lazy<AckBatcher>(() => new AckBatcher(state.Self, state.Endpoint)), (Self: this, delivery.Endpoint))
                .Value.AckAsync(delivery));

    private Task ChangeInvisibleAsync(Delivery delivery, TimeSpan delay, string what, int attempts) =>
        SettleAsync(delivery, what, attempts, async ct =>
        {
            var request = new ChangeInvisibleDurationRequest
            {
                Group = Connection.Resource(_subscription.Group),
                Topic = Connection.Resource(_subscription.Topic),
                ReceiptHandle = delivery.ReceiptHandle,
                InvisibleDuration = Duration.FromTimeSpan(delay > MaxInvisibleDuration ? MaxInvisibleDuration : delay),
                MessageId = delivery.MessageId,
            };
            var response = await Connection.Client(delivery.Endpoint)
                .ChangeInvisibleDurationAsync(request, Connection.CallOptions(ClientId, Options.RequestTimeout, ct)).ConfigureAwait(false);
            GrpcErrors.ThrowIfNotOk(Role, response.Status, "ChangeInvisibleDuration");
            // §9.7: the server answers with a new handle; later calls for this delivery must use it.
            if (!string.IsNullOrEmpty(response.ReceiptHandle))
            {
                delivery.ReceiptHandle = response.ReceiptHandle;
            }
        });

    private Task ForwardToDeadLetterAsync(Delivery delivery, int attempt) =>
        SettleAsync(delivery, "dead-letter", MaxSettleAttempts, async ct =>
        {
            var request = new ForwardMessageToDeadLetterQueueRequest
            {
                Group = Connection.Resource(_subscription.Group),
                Topic = Connection.Resource(_subscription.Topic),
                ReceiptHandle = delivery.ReceiptHandle,
                MessageId = delivery.MessageId,
                DeliveryAttempt = attempt,
                MaxDeliveryAttempts = _subscription.MaxDeliveryAttempts,
            };
            var response = await Connection.Client(delivery.Endpoint)
                .ForwardMessageToDeadLetterQueueAsync(request, Connection.CallOptions(ClientId, Options.RequestTimeout, ct)).ConfigureAwait(false);
            GrpcErrors.ThrowIfNotOk(Role, response.Status, "ForwardMessageToDeadLetterQueue");
        });

    /// <summary>
    /// Runs a settle call, retrying transient failures (§4.6: the official client retries every 1 s until OK; we stop
    /// after <paramref name="attempts"/> — the broker redelivers an unsettled message anyway, and the gate dedupes it).
    /// </summary>
    private async Task SettleAsync(Delivery delivery, string what, int attempts, Func<CancellationToken, Task> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call(CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (Exception ex)
            {
                // Never let a settle failure take a worker down: the broker redelivers an unsettled message anyway.
                var transient = ex switch
                {
                    RpcException rpc => GrpcErrors.IsTransient(rpc.StatusCode),
                    ClusterTransportException cte => cte.IsTransient,
                    _ => false,
                };
                if (!transient || attempt >= attempts)
                {
                    GrpcLog.SettleFailed(Logger, GrpcErrors.Scrub(ex), Role, delivery.MessageId, _subscription.Group, _subscription.Topic, what);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), Connection.Time).ConfigureAwait(false);
            }
        }
    }

    private async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, Connection.Time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class Delivery(Message message, GrpcEndpoint endpoint, DateTimeOffset receivedAt)
    {
        public Message Message { get; } = message;

        public GrpcEndpoint Endpoint { get; } = endpoint;

        /// <summary>When the delivery arrived: its invisibility runs from about then.</summary>
        public DateTimeOffset ReceivedAt { get; } = receivedAt;

        public string MessageId => Message.SystemProperties?.MessageId ?? "";

        public string ReceiptHandle { get; set; } = message.SystemProperties?.ReceiptHandle ?? "";
    }

    /// <summary>
    /// Acks to one endpoint, coalesced: one AckMessage is in flight at a time and the acks that queue up meanwhile go
    /// together in the next one (up to <see cref="MaxBatchSize"/> entries). A lone ack is sent at once, so batching
    /// costs no latency; under load it saves one RPC per message (AckMessage takes several entries, §2.4).
    /// </summary>
    private sealed class AckBatcher
    {
        private readonly PushConsumerClient _owner;
        private readonly GrpcEndpoint _endpoint;
        private readonly Channel<PendingAck> _queue = Channel.CreateUnbounded<PendingAck>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Task _flusher;

        public AckBatcher(PushConsumerClient owner, GrpcEndpoint endpoint)
        {
            _owner = owner;
            _endpoint = endpoint;
            _flusher = Task.Run(FlushAsync, CancellationToken.None);
        }

        /// <summary>Completes when the broker answered for this delivery; throws its per-entry failure.</summary>
        public Task AckAsync(Delivery delivery)
        {
            var pending = new PendingAck(delivery);
            if (!_queue.Writer.TryWrite(pending))
            {
                throw new ObjectDisposedException(nameof(AckBatcher), "The consumer stopped before this ack was sent.");
            }

            return pending.Completion.Task;
        }

        /// <summary>Sends what is queued and stops.</summary>
        public Task CompleteAsync()
        {
            _queue.Writer.TryComplete();
            return _flusher;
        }

        private async Task FlushAsync()
        {
            var batch = new List<PendingAck>(MaxBatchSize);
            while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (batch.Count < MaxBatchSize && _queue.Reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                await SendAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }

        private async Task SendAsync(List<PendingAck> batch)
        {
            var owner = _owner;
            var request = new AckMessageRequest
            {
                Group = owner.Connection.Resource(owner._subscription.Group),
                Topic = owner.Connection.Resource(owner._subscription.Topic),
            };
            foreach (var pending in batch)
            {
                request.Entries.Add(new AckMessageEntry { MessageId = pending.Delivery.MessageId, ReceiptHandle = pending.Delivery.ReceiptHandle });
            }

            AckMessageResponse response;
            try
            {
                response = await owner.Connection.Client(_endpoint)
                    .AckMessageAsync(request, owner.Connection.CallOptions(owner.ClientId, owner.Options.RequestTimeout, CancellationToken.None))
                    .ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                var failure = ex is RpcException rpc ? owner.Fail(rpc, _endpoint) : ex;
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(failure);
                }

                return;
            }

            // Per-entry statuses when the broker gives them (matched by receipt handle), else the aggregate status.
            Dictionary<string, Apache.Rocketmq.V2.Status>? byHandle = null;
            foreach (var entry in response.Entries)
            {
                if (entry.Status is not null)
                {
                    (byHandle ??= new(StringComparer.Ordinal))[entry.ReceiptHandle] = entry.Status;
                }
            }

            foreach (var pending in batch)
            {
                var status = byHandle is not null && byHandle.TryGetValue(pending.Delivery.ReceiptHandle, out var own)
                    ? own
                    : batch.Count == 1 && response.Entries.Count == 1 ? response.Entries[0].Status : response.Status;
                if (status is not null && status.Code == Code.Ok)
                {
                    pending.Completion.TrySetResult();
                }
                else
                {
                    pending.Completion.TrySetException(GrpcErrors.FromStatus(owner.Role, status, "AckMessage"));
                }
            }
        }
    }

    /// <summary>
    /// Keeps one delivery invisible while its handler runs (<see cref="GrpcTransportOptions.KeepInvisibleWhileHandling"/>):
    /// each time two thirds of the invisible duration have passed it asks ChangeInvisibleDuration for another invisible
    /// duration and adopts the handle the server returns. An Apache proxy settles nothing for an ack with the handle from
    /// before such a change (it acks a checkpoint that the change already replaced, broker
    /// <c>ChangeInvisibleTimeProcessor.appendCheckPointThenAckOrigin</c>), so the ack must carry the new one. Renewal
    /// stops after <see cref="MaxRenewal"/>, as the proxy's own auto-renew does (<c>ProxyConfig.renewMaxTimeMillis</c>, 3 h).
    /// </summary>
    private sealed class InvisibilityRenewal : IAsyncDisposable
    {
        private static readonly TimeSpan MaxRenewal = TimeSpan.FromHours(3);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public InvisibilityRenewal(PushConsumerClient owner, Delivery delivery) => _loop = RunAsync(owner, delivery, _stop.Token);

        /// <summary>Stops renewing and waits for a renewal in flight, so the delivery's handle no longer changes.</summary>
        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            _stop.Dispose();
        }

        private static async Task RunAsync(PushConsumerClient owner, Delivery delivery, CancellationToken cancellationToken)
        {
            var time = owner.Connection.Time;
            var invisible = ReceiveInvisibleDuration(owner._subscription.InvisibleDuration);
            var period = invisible * 2 / 3;
            var end = delivery.ReceivedAt + MaxRenewal;
            var next = delivery.ReceivedAt + period;
            try
            {
                while (next < end)
                {
                    var wait = next - time.GetUtcNow();
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
                    }

                    await owner.ChangeInvisibleAsync(delivery, invisible, "keep invisible", 1).ConfigureAwait(false);
                    next = time.GetUtcNow() + period;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    private sealed class PendingAck(Delivery delivery)
    {
        public Delivery Delivery { get; } = delivery;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private ClusterTransportException Fail(RpcException exception, GrpcEndpoint endpoint) => GrpcErrors.FromRpc(Role, exception, "AckMessage", endpoint, Options.HasCredentials);

    /// <summary>One delivery (any worker, any order) or an ordered batch (one worker, in order).</summary>
    private readonly record struct WorkItem(Delivery? Single, List<Delivery>? Ordered);

    /// <summary>The cancellation of one assigned queue's receivers; the last receiver to end disposes it.</summary>
    private sealed class ReceiveLoop(int receivers, CancellationToken parent) : IDisposable
    {
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(parent);
        private int _live = receivers;
        private volatile bool _answered;

        public CancellationToken Token => _cts.Token;

        /// <summary>Whether a receive on this queue was answered (messages or MESSAGE_NOT_FOUND).</summary>
        public bool Answered
        {
            get => _answered;
            set => _answered = value;
        }

        public void Cancel()
        {
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Every receiver already ended.
            }
        }

        /// <summary>Called once by each receiver as it ends.</summary>
        public void Dispose()
        {
            if (Interlocked.Decrement(ref _live) == 0)
            {
                _cts.Dispose();
            }
        }
    }

    private sealed record ServerSubscription(int BatchSize, TimeSpan LongPolling, bool Fifo, RetryPolicy? Policy)
    {
        public TimeSpan Backoff(int attempt) => RetryBackoff.Delay(Policy, attempt);
    }
}
