using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Apache.Rocketmq.V2;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RmqStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>
/// A scripted, recording <c>MessagingService</c> on a free loopback port (Kestrel, h2c): it answers just enough of
/// the protocol for client-behaviour tests (call order, headers, schedules, isolation, settle calls) and records
/// every call. Not a broker: the loopback broker of DualCluster.RocketMQ.Testing is the faithful peer.
/// </summary>
internal sealed class ScriptedBroker : MessagingService.MessagingServiceBase, IAsyncDisposable
{
    private readonly ConcurrentQueue<Call> _calls = new();
    private readonly Channel<Message> _ready = Channel.CreateUnbounded<Message>();
    private readonly ConcurrentDictionary<int, CancellationTokenSource> _telemetry = new();
    private WebApplication? _app;
    private int _telemetryIds;
    private int _handles;

    public string Name { get; init; } = "broker-a";

    public int Port { get; private set; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Brokers whose queues this one lists in QueryRoute answers (itself by default).</summary>
    public List<ScriptedBroker> RouteBrokers { get; } = [];

    /// <summary>Queues per broker in QueryRoute answers.</summary>
    public int QueuesPerBroker { get; set; } = 2;

    /// <summary>The status SendMessage answers; null = OK.</summary>
    public Func<SendMessageRequest, RmqStatus?> SendStatus { get; set; } = _ => null;

    /// <summary>Settings added to the Telemetry answer (server → client), on top of the echoed client settings.</summary>
    public Action<Settings> ServerSettings { get; set; } = _ => { };

    /// <summary>Long polling a ReceiveMessage waits at most.</summary>
    public TimeSpan LongPolling { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Raised (synchronously) on every recorded call.</summary>
    public event Action<Call>? Called;

    public IReadOnlyList<Call> Calls => [.. _calls];

    /// <summary>Telemetry streams open now.</summary>
    public int OpenTelemetryStreams => _telemetry.Count;

    public IEnumerable<Call> CallsOf(string method) => _calls.Where(c => c.Method == method);

    public static async Task<ScriptedBroker> StartAsync(string name = "broker-a")
    {
        var broker = new ScriptedBroker { Name = name };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = null);
        builder.Services.AddSingleton(broker);
        var app = builder.Build();
        app.MapGrpcService<ScriptedBroker>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        broker.Port = new Uri(address).Port;
        broker._app = app;
        return broker;
    }

    /// <summary>Makes a message available to ReceiveMessage.</summary>
    public void Offer(string topic, string messageId, string body, int deliveryAttempt = 1)
    {
        var message = new Message
        {
            Topic = new Resource { Name = topic },
            Body = Google.Protobuf.ByteString.CopyFromUtf8(body),
            SystemProperties = new SystemProperties
            {
                MessageId = messageId,
                BodyEncoding = Apache.Rocketmq.V2.Encoding.Identity,
                MessageType = MessageType.Normal,
                BornTimestamp = Timestamp.FromDateTime(DateTime.UtcNow),
                ReceiptHandle = $"{Name}-h{Interlocked.Increment(ref _handles)}",
                DeliveryAttempt = deliveryAttempt,
            },
        };
        _ready.Writer.TryWrite(message);
    }

    /// <summary>Ends every open Telemetry stream from the server side.</summary>
    public void KillTelemetry()
    {
        foreach (var (_, cts) in _telemetry)
        {
            cts.Cancel();
        }
    }

    public Task WaitForAsync(Func<IReadOnlyList<Call>, bool> condition) => WaitForAsync(condition, TimeSpan.FromSeconds(30));

    public async Task WaitForAsync(Func<IReadOnlyList<Call>, bool> condition, TimeSpan timeout)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check(Call _)
        {
            if (condition(Calls))
            {
                signal.TrySetResult();
            }
        }

        Called += Check;
        try
        {
            Check(null!);
            await signal.Task.WaitAsync(timeout);
        }
        finally
        {
            Called -= Check;
        }
    }

    public async ValueTask DisposeAsync()
    {
        KillTelemetry();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public override Task<QueryRouteResponse> QueryRoute(QueryRouteRequest request, ServerCallContext context)
    {
        Record("QueryRoute", context, request);
        var response = new QueryRouteResponse { Status = Ok() };
        foreach (var broker in RouteBrokers.Count == 0 ? [this] : RouteBrokers)
        {
            for (var id = 0; id < QueuesPerBroker; id++)
            {
                response.MessageQueues.Add(broker.Queue(request.Topic, id));
            }
        }

        return Task.FromResult(response);
    }

    public override async Task Telemetry(IAsyncStreamReader<TelemetryCommand> requestStream, IServerStreamWriter<TelemetryCommand> responseStream, ServerCallContext context)
    {
        var id = Interlocked.Increment(ref _telemetryIds);
        using var kill = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        _telemetry[id] = kill;
        try
        {
            while (await requestStream.MoveNext(kill.Token))
            {
                var command = requestStream.Current;
                Record("Telemetry", context, command);
                if (command.Settings is { } settings)
                {
                    var answer = settings.Clone();
                    ServerSettings(answer);
                    await responseStream.WriteAsync(new TelemetryCommand { Status = Ok(), Settings = answer }, kill.Token);
                }
            }
        }
        catch (OperationCanceledException) when (kill.IsCancellationRequested)
        {
            // Killed by the test, or the client went away.
        }
        finally
        {
            _telemetry.TryRemove(id, out _);
        }
    }

    public override Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        Record("Heartbeat", context, request);
        return Task.FromResult(new HeartbeatResponse { Status = Ok() });
    }

    /// <summary>How long SendMessage waits before answering.</summary>
    public TimeSpan SendDelay { get; set; }

    public override async Task<SendMessageResponse> SendMessage(SendMessageRequest request, ServerCallContext context)
    {
        Record("SendMessage", context, request);
        if (SendDelay > TimeSpan.Zero)
        {
            await Task.Delay(SendDelay, context.CancellationToken);
        }

        var status = SendStatus(request) ?? Ok();
        var response = new SendMessageResponse { Status = status };
        foreach (var message in request.Messages)
        {
            response.Entries.Add(new SendResultEntry { Status = status, MessageId = message.SystemProperties.MessageId, Offset = 7 });
        }

        return response;
    }

    public override Task<QueryAssignmentResponse> QueryAssignment(QueryAssignmentRequest request, ServerCallContext context)
    {
        Record("QueryAssignment", context, request);
        var response = new QueryAssignmentResponse { Status = Ok() };
        response.Assignments.Add(new Assignment { MessageQueue = Queue(request.Topic, -1) });
        return Task.FromResult(response);
    }

    public override async Task ReceiveMessage(ReceiveMessageRequest request, IServerStreamWriter<ReceiveMessageResponse> responseStream, ServerCallContext context)
    {
        Record("ReceiveMessage", context, request);
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        poll.CancelAfter(LongPolling);
        var batch = new List<Message>();
        try
        {
            if (await _ready.Reader.WaitToReadAsync(poll.Token))
            {
                while (batch.Count < request.BatchSize && _ready.Reader.TryRead(out var message))
                {
                    batch.Add(message);
                }
            }
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
        }

        await responseStream.WriteAsync(new ReceiveMessageResponse
        {
            Status = batch.Count > 0 ? Ok() : new RmqStatus { Code = Code.MessageNotFound, Message = "no new message" },
        });
        foreach (var message in batch)
        {
            await responseStream.WriteAsync(new ReceiveMessageResponse { Message = message });
        }

        await responseStream.WriteAsync(new ReceiveMessageResponse { DeliveryTimestamp = Timestamp.FromDateTime(DateTime.UtcNow) });
    }

    public override Task<AckMessageResponse> AckMessage(AckMessageRequest request, ServerCallContext context)
    {
        Record("AckMessage", context, request);
        var response = new AckMessageResponse { Status = Ok() };
        foreach (var entry in request.Entries)
        {
            response.Entries.Add(new AckMessageResultEntry { MessageId = entry.MessageId, ReceiptHandle = entry.ReceiptHandle, Status = Ok() });
        }

        return Task.FromResult(response);
    }

    public override Task<ChangeInvisibleDurationResponse> ChangeInvisibleDuration(ChangeInvisibleDurationRequest request, ServerCallContext context)
    {
        Record("ChangeInvisibleDuration", context, request);
        return Task.FromResult(new ChangeInvisibleDurationResponse { Status = Ok(), ReceiptHandle = request.ReceiptHandle + "-renewed" });
    }

    public override Task<ForwardMessageToDeadLetterQueueResponse> ForwardMessageToDeadLetterQueue(ForwardMessageToDeadLetterQueueRequest request, ServerCallContext context)
    {
        Record("ForwardMessageToDeadLetterQueue", context, request);
        return Task.FromResult(new ForwardMessageToDeadLetterQueueResponse { Status = Ok() });
    }

    public override Task<NotifyClientTerminationResponse> NotifyClientTermination(NotifyClientTerminationRequest request, ServerCallContext context)
    {
        Record("NotifyClientTermination", context, request);
        return Task.FromResult(new NotifyClientTerminationResponse { Status = Ok() });
    }

    private static RmqStatus Ok() => new() { Code = Code.Ok, Message = "OK" };

    private MessageQueue Queue(Resource topic, int id) => new()
    {
        Topic = topic,
        Id = id,
        Permission = Permission.ReadWrite,
        Broker = new Broker
        {
            Name = Name,
            Id = 0,
            Endpoints = new Endpoints { Scheme = AddressScheme.Ipv4, Addresses = { new Address { Host = "127.0.0.1", Port = Port } } },
        },
        AcceptMessageTypes = { MessageType.Normal, MessageType.Fifo, MessageType.Delay },
    };

    private void Record(string method, ServerCallContext context, Google.Protobuf.IMessage request)
    {
        var headers = context.RequestHeaders.Where(h => !h.IsBinary).GroupBy(h => h.Key).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        var call = new Call(method, headers, request);
        _calls.Enqueue(call);
        Called?.Invoke(call);
    }

    /// <summary>One recorded call: the method, its text headers and the request (for Telemetry: the command).</summary>
    internal sealed record Call(string Method, IReadOnlyDictionary<string, string> Headers, Google.Protobuf.IMessage Request)
    {
        public T As<T>()
            where T : Google.Protobuf.IMessage => (T)Request;
    }
}
