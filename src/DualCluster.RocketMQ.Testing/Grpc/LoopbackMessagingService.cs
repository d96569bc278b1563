using System.Collections.Concurrent;
using System.Globalization;
using Apache.Rocketmq.V2;
using DualCluster.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using WireStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// The <c>apache.rocketmq.v2.MessagingService</c> of the loopback broker (fact sheet §6): in-band statuses, per
/// client-id settings from Telemetry, the proxy's header, signature, polling and validation rules, over an
/// <see cref="InMemoryBroker"/>. One instance lives across restarts of the HTTP server.
/// </summary>
internal sealed partial class LoopbackMessagingService : MessagingService.MessagingServiceBase, IDisposable
{
    private const int MaxTopicLength = 127;
    private const int MaxGroupLength = 120;
    private static readonly TimeSpan MaxInvisibleDuration = TimeSpan.FromHours(12);
    private static readonly TimeSpan OrderlyRecheck = TimeSpan.FromMilliseconds(20);

    private static readonly HashSet<string> LanguageCodes = new(StringComparer.Ordinal)
    {
        "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP", "OMS", "RUST", "NODE_JS",
    };

    private static readonly TimeSpan[] ProxyRetryDelays =
    [
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30),
        TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(4),
        TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(6), TimeSpan.FromMinutes(7), TimeSpan.FromMinutes(8),
        TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(1), TimeSpan.FromHours(2),
    ];

    private readonly InMemoryBroker _broker;
    private readonly GrpcLoopbackOptions _options;
    private readonly LoopbackReceipts _receipts;
    private readonly ConcurrentDictionary<string, PendingTransaction> _transactions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Group, string Topic), SemaphoreSlim> _orderlyGates = new();
    private readonly ConcurrentDictionary<string, byte> _configuredGroups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, GrpcLoopbackTopicType> _topicTypes;
    private readonly long[] _calls = new long[System.Enum.GetValues<GrpcLoopbackRpc>().Length];
    private CancellationTokenSource _stopping = new();

    public LoopbackMessagingService(InMemoryBroker broker, GrpcLoopbackOptions options)
    {
        _broker = broker;
        _options = options;
        _topicTypes = new ConcurrentDictionary<string, GrpcLoopbackTopicType>(options.TopicTypes, StringComparer.Ordinal);
        Faults = new GrpcLoopbackFaults(() => Clients.KillStreams());
        _receipts = new LoopbackReceipts(broker, options.BrokerName, options.AutoRenewInvisibleDuration, id => Clients.GetSettings(id) is not null);
    }

    public GrpcLoopbackFaults Faults { get; }

    public LoopbackClients Clients { get; } = new();

    /// <summary>The port the server listens on (routes point at it).</summary>
    public int Port { get; set; }

    /// <summary>Raised when a ReceiveMessage starts its long poll, with the poll time it was granted (tests observe the bounds).</summary>
    internal event Action<TimeSpan>? LongPollStarted;

    private string StoreHost => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public long CallCount(GrpcLoopbackRpc rpc) => Interlocked.Read(ref _calls[(int)rpc]);

    /// <summary>Called when the HTTP server stops: open calls end, the proxy "forgets" its clients as a restarted one would.</summary>
    public void OnStopping()
    {
        // Not disposed: a call that read the old source just before the exchange may still link to its token.
        var stopping = Interlocked.Exchange(ref _stopping, new CancellationTokenSource());
        stopping.Cancel();
        Clients.ForgetAll();
    }

    public void Dispose()
    {
        foreach (var gate in _orderlyGates.Values)
        {
            gate.Dispose();
        }

        _receipts.Dispose();
        _stopping.Dispose();
    }

    // ------------------------------------------------------------------ unary RPCs

    public override Task<QueryRouteResponse> QueryRoute(QueryRouteRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.QueryRoute, context, status => new QueryRouteResponse { Status = status }, call =>
        {
            var topic = request.Topic?.Name;
            if (!LoopbackMessages.IsValidName(topic, MaxTopicLength))
            {
                return new QueryRouteResponse { Status = LoopbackStatus.Of(Code.IllegalTopic, $"topic '{topic}' is illegal") };
            }

            if (request.Endpoints is null || request.Endpoints.Addresses.Count == 0)
            {
                return new QueryRouteResponse { Status = LoopbackStatus.Of(Code.IllegalAccessPoint, "access point endpoints are missing") };
            }

            if (request.Endpoints.Scheme == AddressScheme.Unspecified)
            {
                return new QueryRouteResponse { Status = LoopbackStatus.Of(Code.InternalServerError, "address scheme is unspecified") };
            }

            var queues = EnsureTopic(topic!);
            if (queues == 0)
            {
                return new QueryRouteResponse { Status = LoopbackStatus.Of(Code.TopicNotFound, $"topic '{topic}' does not exist") };
            }

            var response = new QueryRouteResponse { Status = LoopbackStatus.Ok };
            for (var id = 0; id < queues; id++)
            {
                response.MessageQueues.Add(Queue(call, topic!, id));
            }

            return response;
        });

    public override Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.Heartbeat, context, status => new HeartbeatResponse { Status = status }, call =>
        {
            if (!IsKnownLanguage(call.Language))
            {
                return new HeartbeatResponse { Status = LoopbackStatus.Of(Code.InternalServerError, $"language '{call.Language}' is not a known LanguageCode name (send x-mq-language: DOTNET)") };
            }

            var settings = Clients.GetSettings(call.ClientId);
            if (settings is null)
            {
                return new HeartbeatResponse { Status = LoopbackStatus.Of(Code.UnrecognizedClientType, "no settings from this client: open Telemetry and send Settings first") };
            }

            if (request.ClientType is ClientType.PushConsumer or ClientType.SimpleConsumer)
            {
                var group = request.Group?.Name;
                if (!LoopbackMessages.IsValidName(group, MaxGroupLength))
                {
                    return new HeartbeatResponse { Status = LoopbackStatus.Of(Code.IllegalConsumerGroup, $"consumer group '{group}' is illegal") };
                }

                Register(settings);
            }

            return new HeartbeatResponse { Status = LoopbackStatus.Ok };
        });

    public override Task<SendMessageResponse> SendMessage(SendMessageRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.SendMessage, context, status => FailedSend(request, status), _ =>
        {
            if (request.Messages.Count == 0)
            {
                return new SendMessageResponse { Status = LoopbackStatus.Of(Code.BadRequest, "no message to send") };
            }

            var topic = request.Messages[0].Topic;
            if (!LoopbackMessages.IsValidName(topic?.Name, MaxTopicLength))
            {
                return FailedSend(request, LoopbackStatus.Of(Code.IllegalTopic, $"topic '{topic?.Name}' is illegal"));
            }

            var now = _broker.TimeProvider.GetUtcNow();
            foreach (var message in request.Messages)
            {
                if (!Equals(message.Topic, topic))
                {
                    return FailedSend(request, LoopbackStatus.Of(Code.MessageCorrupted, "all messages of a send must carry the same topic"));
                }

                if (LoopbackMessages.Validate(message, _options, TopicType(topic!.Name), now) is { } invalid)
                {
                    return FailedSend(request, invalid);
                }
            }

            if (EnsureTopic(topic!.Name) == 0)
            {
                return FailedSend(request, LoopbackStatus.Of(Code.TopicNotFound, $"topic '{topic.Name}' does not exist"));
            }

            var response = new SendMessageResponse();
            var statuses = new List<WireStatus>(request.Messages.Count);
            foreach (var message in request.Messages)
            {
                var entry = Store(message);
                statuses.Add(entry.Status);
                response.Entries.Add(entry);
            }

            response.Status = LoopbackStatus.Aggregate(statuses);
            return response;
        });

    public override Task<QueryAssignmentResponse> QueryAssignment(QueryAssignmentRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.QueryAssignment, context, status => new QueryAssignmentResponse { Status = status }, call =>
        {
            var topic = request.Topic?.Name;
            var group = request.Group?.Name;
            if (!LoopbackMessages.IsValidName(topic, MaxTopicLength))
            {
                return new QueryAssignmentResponse { Status = LoopbackStatus.Of(Code.IllegalTopic, $"topic '{topic}' is illegal") };
            }

            if (!LoopbackMessages.IsValidName(group, MaxGroupLength))
            {
                return new QueryAssignmentResponse { Status = LoopbackStatus.Of(Code.IllegalConsumerGroup, $"consumer group '{group}' is illegal") };
            }

            var queues = _broker.GetQueueCount(topic!);
            if (queues == 0)
            {
                return new QueryAssignmentResponse { Status = LoopbackStatus.Of(Code.TopicNotFound, $"topic '{topic}' does not exist") };
            }

            var response = new QueryAssignmentResponse { Status = LoopbackStatus.Ok };
            if (_options.FifoGroups.Contains(group!))
            {
                for (var id = 0; id < queues; id++)
                {
                    response.Assignments.Add(new Assignment { MessageQueue = Queue(call, topic!, id) });
                }
            }
            else
            {
                // Non-FIFO groups: one assignment per broker with queue id -1, "any queue of that broker" (§2.4).
                response.Assignments.Add(new Assignment { MessageQueue = Queue(call, topic!, -1) });
            }

            return response;
        });

    public override Task<AckMessageResponse> AckMessage(AckMessageRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.AckMessage, context, status => FailedAck(request, status), _ =>
        {
            if (CheckGroupAndTopic(request.Group, request.Topic) is { } invalid)
            {
                return FailedAck(request, invalid);
            }

            if (request.Entries.Count == 0)
            {
                return new AckMessageResponse { Status = LoopbackStatus.Of(Code.BadRequest, "no entry to ack") };
            }

            var response = new AckMessageResponse();
            var statuses = new List<WireStatus>(request.Entries.Count);
            foreach (var entry in request.Entries)
            {
                WireStatus status;
                try
                {
                    // §5.8: OK for any unexpired handle, also one already acked or replaced by ChangeInvisibleDuration
                    // (broker AckMessageProcessor appends an ack record without checking the checkpoint is live).
                    status = Faults.TakeDroppedAck() || _receipts.Ack(request.Group!.Name, request.Topic!.Name, entry.ReceiptHandle) == LoopbackReceipts.Outcome.Ok
                        ? LoopbackStatus.Ok
                        : LoopbackStatus.Of(Code.InvalidReceiptHandle, "receipt handle is expired");
                }
                catch (InMemoryBrokerException ex)
                {
                    status = LoopbackStatus.FromBroker(ex);
                }

                statuses.Add(status);
                response.Entries.Add(new AckMessageResultEntry { MessageId = entry.MessageId, ReceiptHandle = entry.ReceiptHandle, Status = status });
            }

            response.Status = LoopbackStatus.Aggregate(statuses);
            return response;
        });

    public override Task<ChangeInvisibleDurationResponse> ChangeInvisibleDuration(ChangeInvisibleDurationRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.ChangeInvisibleDuration, context, status => new ChangeInvisibleDurationResponse { Status = status }, _ =>
        {
            if (CheckGroupAndTopic(request.Group, request.Topic) is { } invalid)
            {
                return new ChangeInvisibleDurationResponse { Status = invalid };
            }

            var duration = request.InvisibleDuration?.ToTimeSpan();
            if (duration is not { } d || d < TimeSpan.Zero || d > MaxInvisibleDuration)
            {
                return new ChangeInvisibleDurationResponse { Status = LoopbackStatus.Of(Code.IllegalInvisibleTime, "invisible duration must be within 0 and 12 h") };
            }

            var next = _receipts.ChangeInvisibleDuration(request.Group!.Name, request.Topic!.Name, request.ReceiptHandle, d);
            return next is null
                ? new ChangeInvisibleDurationResponse { Status = LoopbackStatus.Of(Code.InvalidReceiptHandle, "receipt handle is expired") }
                : new ChangeInvisibleDurationResponse { Status = LoopbackStatus.Ok, ReceiptHandle = next };
        });

    public override Task<ForwardMessageToDeadLetterQueueResponse> ForwardMessageToDeadLetterQueue(ForwardMessageToDeadLetterQueueRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.ForwardMessageToDeadLetterQueue, context, status => new ForwardMessageToDeadLetterQueueResponse { Status = status }, _ =>
        {
            if (CheckGroupAndTopic(request.Group, request.Topic) is { } invalid)
            {
                return new ForwardMessageToDeadLetterQueueResponse { Status = invalid };
            }

            return new ForwardMessageToDeadLetterQueueResponse
            {
                Status = _receipts.ForwardToDeadLetter(request.Group!.Name, request.Topic!.Name, request.ReceiptHandle)
                    ? LoopbackStatus.Ok
                    : LoopbackStatus.Of(Code.InvalidReceiptHandle, "receipt handle is expired"),
            };
        });

    public override Task<EndTransactionResponse> EndTransaction(EndTransactionRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.EndTransaction, context, status => new EndTransactionResponse { Status = status }, _ =>
        {
            if (string.IsNullOrWhiteSpace(request.TransactionId) || !_transactions.TryGetValue(request.TransactionId, out var pending))
            {
                return new EndTransactionResponse { Status = LoopbackStatus.Of(Code.InvalidTransactionId, $"transaction id '{request.TransactionId}' is unknown") };
            }

            switch (request.Resolution)
            {
                case TransactionResolution.Commit:
                    _broker.Send(pending.Message, pending.MessageId, bornTime: pending.BornTime);
                    break;
                case TransactionResolution.Rollback:
                    break;
                default:
                    return new EndTransactionResponse { Status = LoopbackStatus.Of(Code.BadRequest, "resolution must be COMMIT or ROLLBACK") };
            }

            _transactions.TryRemove(request.TransactionId, out PendingTransaction? _);
            return new EndTransactionResponse { Status = LoopbackStatus.Ok };
        });

    public override Task<NotifyClientTerminationResponse> NotifyClientTermination(NotifyClientTerminationRequest request, ServerCallContext context) =>
        UnaryAsync(GrpcLoopbackRpc.NotifyClientTermination, context, status => new NotifyClientTerminationResponse { Status = status }, call =>
            new NotifyClientTerminationResponse
            {
                Status = Clients.Forget(call.ClientId)
                    ? LoopbackStatus.Ok
                    : LoopbackStatus.Of(Code.UnrecognizedClientType, "no settings from this client"),
            });

    // ------------------------------------------------------------------ ReceiveMessage (server streaming)

    public override async Task ReceiveMessage(ReceiveMessageRequest request, IServerStreamWriter<ReceiveMessageResponse> responseStream, ServerCallContext context)
    {
        var stopping = _stopping.Token;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping);
        var admission = await AdmitAsync(GrpcLoopbackRpc.ReceiveMessage, context, cancel.Token).ConfigureAwait(false);
        WireStatus status;
        IReadOnlyList<(PopDelivery Delivery, string Handle)> deliveries = [];
        if (admission.Error is { } error)
        {
            status = error;
        }
        else
        {
            try
            {
                (status, deliveries) = await ReceiveAsync(request, admission.Call!, context, cancel.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // The broker is stopping (a crash for the client): cut the stream without an answer.
                context.GetHttpContext().Abort();
                return;
            }
            catch (InMemoryBrokerException ex)
            {
                status = LoopbackStatus.FromBroker(ex);
            }
        }

        // Stream shape (§4.4): status first, then the messages, then the delivery timestamp.
        await responseStream.WriteAsync(new ReceiveMessageResponse { Status = status }, cancel.Token).ConfigureAwait(false);
        if (deliveries.Count > 0)
        {
            var topic = new Resource { ResourceNamespace = Namespace(admission.Call!), Name = request.MessageQueue.Topic.Name };
            foreach (var (delivery, handle) in deliveries)
            {
                var message = LoopbackMessages.ToWire(delivery, topic, StoreHost, handle);
                await responseStream.WriteAsync(new ReceiveMessageResponse { Message = message }, cancel.Token).ConfigureAwait(false);
            }
        }

        await responseStream.WriteAsync(new ReceiveMessageResponse { DeliveryTimestamp = Timestamp.FromDateTimeOffset(_broker.TimeProvider.GetUtcNow()) }, cancel.Token).ConfigureAwait(false);
    }

    private async Task<(WireStatus Status, IReadOnlyList<(PopDelivery Delivery, string Handle)> Deliveries)> ReceiveAsync(
        ReceiveMessageRequest request, LoopbackCall call, ServerCallContext context, CancellationToken cancellationToken)
    {
        var settings = Clients.GetSettings(call.ClientId);
        if (settings is null || settings.ClientType is not (ClientType.PushConsumer or ClientType.SimpleConsumer))
        {
            return (LoopbackStatus.Of(Code.UnrecognizedClientType, "no consumer settings from this client: open Telemetry and send Settings first"), []);
        }

        var group = request.Group?.Name;
        var topic = request.MessageQueue?.Topic?.Name;
        if (!LoopbackMessages.IsValidName(group, MaxGroupLength))
        {
            return (LoopbackStatus.Of(Code.IllegalConsumerGroup, $"consumer group '{group}' is illegal"), []);
        }

        if (!LoopbackMessages.IsValidName(topic, MaxTopicLength))
        {
            return (LoopbackStatus.Of(Code.IllegalTopic, $"topic '{topic}' is illegal"), []);
        }

        if (EnsureTopic(topic!) == 0)
        {
            return (LoopbackStatus.Of(Code.TopicNotFound, $"topic '{topic}' does not exist"), []);
        }

        var filter = request.FilterExpression;
        if (filter is null)
        {
            return (LoopbackStatus.Of(Code.IllegalFilterExpression, "filter expression is missing"), []);
        }

        if (filter.Type == FilterType.Sql)
        {
            return (LoopbackStatus.Of(Code.IllegalFilterExpression, "SQL92 filters are not supported by the loopback broker"), []);
        }

        if (request.BatchSize < 1)
        {
            return (LoopbackStatus.Of(Code.BadRequest, "batch size must be positive"), []);
        }

        if (request.BatchSize > _options.ReceiveBatchSize)
        {
            return (LoopbackStatus.Of(Code.InternalServerError, $"batch size {request.BatchSize.ToString(CultureInfo.InvariantCulture)} exceeds {_options.ReceiveBatchSize.ToString(CultureInfo.InvariantCulture)}"), []);
        }

        TimeSpan invisible;
        if (request.AutoRenew)
        {
            invisible = _options.AutoRenewInvisibleDuration;
        }
        else if (request.InvisibleDuration?.ToTimeSpan() is { } asked && asked >= _options.MinInvisibleDuration && asked <= MaxInvisibleDuration)
        {
            invisible = asked;
        }
        else
        {
            return (LoopbackStatus.Of(Code.IllegalInvisibleTime, $"invisible duration must be within {_options.MinInvisibleDuration} and 12 h"), []);
        }

        // Long polling (§5.7): clamped to [min, max], then to the call's deadline; a deadline too close to poll at all is refused.
        var poll = request.LongPollingTimeout?.ToTimeSpan() ?? TimeSpan.Zero;
        poll = poll < _options.MinLongPollingTimeout ? _options.MinLongPollingTimeout : poll > _options.MaxLongPollingTimeout ? _options.MaxLongPollingTimeout : poll;
        if (context.Deadline != DateTime.MaxValue)
        {
            var remaining = context.Deadline - DateTime.UtcNow;
            if (remaining < _options.MinLongPollingTimeout)
            {
                var code = string.CompareOrdinal(call.ClientVersion ?? "", "5.0.3") >= 0 ? Code.IllegalPollingTime : Code.BadRequest;
                return (LoopbackStatus.Of(code, $"the request deadline leaves {remaining.TotalMilliseconds:F0} ms, less than the shortest long poll {_options.MinLongPollingTimeout}: raise the request timeout or the long-polling timeout"), []);
            }

            // Answer a little before the deadline so the empty result reaches the client instead of DEADLINE_EXCEEDED.
            var usable = remaining - TimeSpan.FromTicks(Math.Min(remaining.Ticks / 10, TimeSpan.TicksPerSecond));
            poll = usable < poll ? usable : poll;
        }

        IReadOnlyList<PopDelivery> deliveries;
        if (_options.FifoGroups.Contains(group!))
        {
            deliveries = await ReceiveOrderlyAsync(group!, topic!, request.BatchSize, invisible, poll, filter.Expression, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var pending = _broker.ReceiveAsync(group!, topic!, request.BatchSize, invisible, poll, filter.Expression, cancellationToken);
            LongPollStarted?.Invoke(poll);
            deliveries = await pending.ConfigureAwait(false);
        }

        if (deliveries.Count == 0)
        {
            return (LoopbackStatus.Of(Code.MessageNotFound, "no new message"), []);
        }

        var issued = new (PopDelivery Delivery, string Handle)[deliveries.Count];
        for (var i = 0; i < deliveries.Count; i++)
        {
            var delivery = deliveries[i];
            var handle = _receipts.Issue(group!, topic!, delivery, invisible);
            if (request.AutoRenew)
            {
                _receipts.TrackAutoRenew(call.ClientId, group!, topic!, handle, delivery.InvisibleUntil);
            }

            issued[i] = (delivery, handle);
        }

        return (LoopbackStatus.Ok, issued);
    }

    /// <summary>
    /// An orderly group gets nothing more of a topic while a delivery of it is in flight (§6.2: Apache locks the queue
    /// per group; this locks the whole topic), so a later message of a message group never overtakes an earlier one.
    /// </summary>
    private async Task<IReadOnlyList<PopDelivery>> ReceiveOrderlyAsync(
        string group, string topic, int batchSize, TimeSpan invisible, TimeSpan poll, string filter, CancellationToken cancellationToken)
    {
        var time = _broker.TimeProvider;
        var deadline = time.GetUtcNow() + poll;
        var gate = _orderlyGates.GetOrAdd((group, topic), _ => new SemaphoreSlim(1, 1));
        LongPollStarted?.Invoke(poll);
        if (!await gate.WaitAsync(poll, cancellationToken).ConfigureAwait(false))
        {
            return [];
        }

        try
        {
            while (_broker.GetBacklog(group, topic).InFlight > 0)
            {
                if (time.GetUtcNow() >= deadline)
                {
                    return [];
                }

                await Task.Delay(OrderlyRecheck, cancellationToken).ConfigureAwait(false);
            }

            var remaining = deadline - time.GetUtcNow();
            return await _broker.ReceiveAsync(group, topic, batchSize, invisible, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, filter, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    // ------------------------------------------------------------------ Telemetry (bidirectional streaming)

    public override async Task Telemetry(IAsyncStreamReader<TelemetryCommand> requestStream, IServerStreamWriter<TelemetryCommand> responseStream, ServerCallContext context)
    {
        var stopping = _stopping.Token;
        var admission = await AdmitAsync(GrpcLoopbackRpc.Telemetry, context, context.CancellationToken).ConfigureAwait(false);
        if (admission.Error is { } error)
        {
            // Auth / client id / injected failures: one command carrying the status, then the stream completes (§6.4).
            await responseStream.WriteAsync(new TelemetryCommand { Status = error }).ConfigureAwait(false);
            return;
        }

        var call = admission.Call!;
        var stream = Clients.OpenStream(call.ClientId, stopping);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stream.Token);
        try
        {
            while (await requestStream.MoveNext(cancel.Token).ConfigureAwait(false))
            {
                var command = requestStream.Current;
                if (command.CommandCase != TelemetryCommand.CommandOneofCase.Settings)
                {
                    continue; // Answers to server commands (verify results, stack traces): nothing to do.
                }

                if (!IsKnownLanguage(call.Language))
                {
                    throw new RpcException(new global::Grpc.Core.Status(StatusCode.Internal, $"language '{call.Language}' is not a known LanguageCode name (send x-mq-language: DOTNET)"));
                }

                var settings = command.Settings;
                if (CheckSettings(settings) is { } invalid)
                {
                    throw new RpcException(new global::Grpc.Core.Status(StatusCode.InvalidArgument, invalid));
                }

                Clients.SetSettings(call.ClientId, settings);
                Register(settings);
                await responseStream.WriteAsync(new TelemetryCommand { Status = LoopbackStatus.Ok, Settings = Merge(settings) }, cancel.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stream.Token.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            if (stopping.IsCancellationRequested && !stream.Killed)
            {
                context.GetHttpContext().Abort();
                return;
            }

            throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unavailable, "Telemetry stream ended by the loopback broker (fault injection)"));
        }
        finally
        {
            Clients.CloseStream(stream);
        }
    }

    // ------------------------------------------------------------------ admission (headers, auth, faults)

    private async Task<TResponse> UnaryAsync<TResponse>(GrpcLoopbackRpc rpc, ServerCallContext context, Func<WireStatus, TResponse> fail, Func<LoopbackCall, TResponse> handle)
    {
        var admission = await AdmitAsync(rpc, context, context.CancellationToken).ConfigureAwait(false);
        if (admission.Error is { } error)
        {
            return fail(error);
        }

        try
        {
            return handle(admission.Call!);
        }
        catch (InMemoryBrokerException ex)
        {
            return fail(LoopbackStatus.FromBroker(ex));
        }
        catch (Exception ex) when (ex is not RpcException and not OperationCanceledException)
        {
            return fail(LoopbackStatus.Of(Code.InternalServerError, ex.Message));
        }
    }

    private async Task<Admission> AdmitAsync(GrpcLoopbackRpc rpc, ServerCallContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls[(int)rpc]);
        if (Faults.IsInOutage)
        {
            throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unavailable, "the loopback broker is in an injected outage"));
        }

        var delay = Faults.TakeDelay(rpc);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }

        var headers = context.RequestHeaders;
        if (_options.HasCredentials
            && LoopbackSignature.Verify(headers.GetValue("authorization"), headers.GetValue("x-mq-date-time"), _options.AccessKey!, _options.SecretKey!) is { } denied)
        {
            if (_options.AclAsProxy500)
            {
                throw LoopbackSignature.Proxy500Refusal(headers, rpc);
            }

            return new(null, LoopbackStatus.Of(Code.Unauthorized, denied));
        }

        var ns = headers.GetValue("x-mq-namespace");
        if (_options.Namespace is { } expected && !string.Equals(ns ?? "", expected, StringComparison.Ordinal))
        {
            return new(null, LoopbackStatus.Of(Code.Forbidden, $"namespace '{ns}' is not served here: this endpoint serves namespace '{expected}'"));
        }

        foreach (var header in _options.RequiredHeaders)
        {
            if (string.IsNullOrEmpty(headers.GetValue(header)))
            {
                return new(null, LoopbackStatus.Of(Code.BadRequest, $"header {header} is required"));
            }
        }

        var clientId = headers.GetValue("x-mq-client-id");
        if (string.IsNullOrWhiteSpace(clientId))
        {
            return new(null, LoopbackStatus.Of(Code.ClientIdRequired, "x-mq-client-id header is required"));
        }

        if (Faults.TakeFailure(rpc) is { } code)
        {
            return new(null, LoopbackStatus.Of(code, "injected failure"));
        }

        return new(new LoopbackCall(clientId, ns ?? "", headers.GetValue("x-mq-language"), headers.GetValue("x-mq-client-version")), null);
    }

    // ------------------------------------------------------------------ helpers

    private static bool IsKnownLanguage(string? language) => language is not null && LanguageCodes.Contains(language);

    private string Namespace(LoopbackCall call) => _options.Namespace ?? call.Namespace;

    private MessageQueue Queue(LoopbackCall call, string topic, int id)
    {
        var queue = new MessageQueue
        {
            Topic = new Resource { ResourceNamespace = Namespace(call), Name = topic },
            Id = id,
            Permission = Permission.ReadWrite,
            Broker = new Broker
            {
                Name = _options.BrokerName,
                Id = 0,
                Endpoints = new Endpoints { Scheme = AddressScheme.Ipv4, Addresses = { new Address { Host = "127.0.0.1", Port = Port } } },
            },
        };
        queue.AcceptMessageTypes.AddRange(LoopbackMessages.AcceptedTypes(TopicType(topic)));
        return queue;
    }

    /// <summary>The message type of <paramref name="topic"/>: as created, else as configured, else the default (NORMAL).</summary>
    public GrpcLoopbackTopicType TopicType(string topic) =>
        _topicTypes.TryGetValue(topic, out var type) ? type : _options.DefaultTopicType;

    /// <summary>Records the message type of a topic (what <c>mqadmin updateTopic -a +message.type=…</c> sets).</summary>
    public void SetTopicType(string topic, GrpcLoopbackTopicType type) => _topicTypes[topic] = type;

    /// <summary>The topic's queue count, creating it when allowed; 0 when it does not exist.</summary>
    private int EnsureTopic(string topic)
    {
        var queues = _broker.GetQueueCount(topic);
        if (queues == 0 && _options.AutoCreateTopics)
        {
            _broker.CreateTopic(topic, _options.DefaultQueueCount);
            queues = _broker.GetQueueCount(topic);
        }

        return queues;
    }

    /// <summary>Deliveries of a message before it is dead-lettered: retryMaxTimes + 1 (see <see cref="GrpcLoopbackOptions.ConsumerRetryMaxTimes"/>).</summary>
    private int MaxDeliveryAttempts => _options.ConsumerRetryMaxTimes + 1;

    /// <summary>Registers a consumer's group with its topics, so a new group's start offset is fixed when it connects.</summary>
    private void Register(Settings settings)
    {
        if (settings.Subscription?.Group?.Name is not { } group || !LoopbackMessages.IsValidName(group, MaxGroupLength))
        {
            return;
        }

        if (_configuredGroups.TryAdd(group, 0))
        {
            // The group's retry policy lives with the server: the in-memory broker dead-letters after as many deliveries.
            _broker.ConfigureGroup(group, maxDeliveryAttempts: MaxDeliveryAttempts);
        }

        foreach (var entry in settings.Subscription.Subscriptions)
        {
            if (entry.Topic?.Name is { } topic && LoopbackMessages.IsValidName(topic, MaxTopicLength) && EnsureTopic(topic) > 0)
            {
                try
                {
                    _broker.Subscribe(group, topic);
                }
                catch (InMemoryBrokerException)
                {
                    // Unknown topic without auto-creation: receives will say so.
                }
            }
        }
    }

    private static string? CheckSettings(Settings settings)
    {
        switch (settings.PubSubCase)
        {
            case Settings.PubSubOneofCase.Publishing:
                return settings.ClientType == ClientType.Producer ? null : $"client type {settings.ClientType} does not publish";
            case Settings.PubSubOneofCase.Subscription:
                if (settings.ClientType is not (ClientType.PushConsumer or ClientType.SimpleConsumer))
                {
                    return $"client type {settings.ClientType} does not subscribe";
                }

                return LoopbackMessages.IsValidName(settings.Subscription.Group?.Name, MaxGroupLength)
                    ? null
                    : $"consumer group '{settings.Subscription.Group?.Name}' is illegal";
            default:
                return "settings carry neither publishing nor subscription";
        }
    }

    /// <summary>The server's answer to a client's settings (§6.2 Telemetry): echoed, plus what official clients require.</summary>
    private Settings Merge(Settings settings)
    {
        var reply = settings.Clone();
        if (settings.PubSubCase == Settings.PubSubOneofCase.Publishing)
        {
            reply.BackoffPolicy = new RetryPolicy
            {
                MaxAttempts = _options.ProducerMaxAttempts,
                ExponentialBackoff = new ExponentialBackoff
                {
                    Initial = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(10)),
                    Max = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
                    Multiplier = 2,
                },
            };
            reply.Publishing.MaxBodySize = _options.MaxBodySize;
            reply.Publishing.ValidateMessageType = true;
        }
        else
        {
            var backoff = new CustomizedBackoff();
            backoff.Next.AddRange((_options.ConsumerRetryDelays ?? ProxyRetryDelays).Select(Duration.FromTimeSpan));
            // Proxy GrpcClientSettingsManager.mergeSubscriptionData: max attempts = the group's retryMaxTimes + 1, and the
            // proxy's own batch size and long-polling timeout overwrite the client's (simple consumers' too).
            reply.BackoffPolicy = new RetryPolicy { MaxAttempts = MaxDeliveryAttempts, CustomizedBackoff = backoff };
            var subscription = reply.Subscription;
            subscription.Fifo = _options.FifoGroups.Contains(subscription.Group.Name);
            subscription.ReceiveBatchSize = _options.ReceiveBatchSize;
            subscription.LongPollingTimeout = Duration.FromTimeSpan(_options.PushLongPollingTimeout);
        }

        reply.Metric = new Metric { On = false };
        return reply;
    }

    private static WireStatus? CheckGroupAndTopic(Resource? group, Resource? topic)
    {
        if (!LoopbackMessages.IsValidName(group?.Name, MaxGroupLength))
        {
            return LoopbackStatus.Of(Code.IllegalConsumerGroup, $"consumer group '{group?.Name}' is illegal");
        }

        return LoopbackMessages.IsValidName(topic?.Name, MaxTopicLength)
            ? null
            : LoopbackStatus.Of(Code.IllegalTopic, $"topic '{topic?.Name}' is illegal");
    }

    private SendResultEntry Store(Message message)
    {
        var system = message.SystemProperties;
        var outgoing = LoopbackMessages.ToOutgoing(message);
        var born = system.BornTimestamp?.ToDateTimeOffset();
        if (LoopbackMessages.TypeOf(message) == MessageType.Transaction)
        {
            // Half message: invisible until EndTransaction COMMIT (§6.2 SendMessage).
            var transactionId = Guid.NewGuid().ToString("N");
            _transactions[transactionId] = new PendingTransaction(outgoing, system.MessageId, born);
            return new SendResultEntry { Status = LoopbackStatus.Ok, MessageId = system.MessageId, TransactionId = transactionId, Offset = -1 };
        }

        var stored = _broker.Send(outgoing, system.MessageId, bornTime: born);
        return new SendResultEntry { Status = LoopbackStatus.Ok, MessageId = stored.MessageId, Offset = stored.QueueOffset };
    }

    private static SendMessageResponse FailedSend(SendMessageRequest request, WireStatus status)
    {
        // Official clients take entries.First(): never answer without entries (§6.3).
        var response = new SendMessageResponse { Status = status };
        foreach (var message in request.Messages)
        {
            response.Entries.Add(new SendResultEntry { Status = status, MessageId = message.SystemProperties?.MessageId ?? "" });
        }

        if (response.Entries.Count == 0)
        {
            response.Entries.Add(new SendResultEntry { Status = status });
        }

        return response;
    }

    private static AckMessageResponse FailedAck(AckMessageRequest request, WireStatus status)
    {
        var response = new AckMessageResponse { Status = status };
        foreach (var entry in request.Entries)
        {
            response.Entries.Add(new AckMessageResultEntry { MessageId = entry.MessageId, ReceiptHandle = entry.ReceiptHandle, Status = status });
        }

        return response;
    }

    private readonly record struct Admission(LoopbackCall? Call, WireStatus? Error);

    private sealed record PendingTransaction(OutgoingMessage Message, string MessageId, DateTimeOffset? BornTime);
}

