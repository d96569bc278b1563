using System.Net;
using Apache.Rocketmq.V2;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RmqStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.Grpc.Benchmarks;

/// <summary>
/// A <c>MessagingService</c> that stores nothing: route, Telemetry echo and an immediate OK for every send. Sends
/// against it measure the client plus the HTTP/2 stack, without the loopback broker's admission and storage.
/// </summary>
internal sealed class NoopBroker : MessagingService.MessagingServiceBase, IAsyncDisposable
{
    private static readonly RmqStatus Ok = new() { Code = Code.Ok, Message = "OK" };
    private WebApplication? _app;

    public int Port { get; private set; }

    public static async Task<NoopBroker> StartAsync()
    {
        var broker = new NoopBroker();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(broker);
        var app = builder.Build();
        app.MapGrpcService<NoopBroker>();
        await app.StartAsync();
        broker.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        broker._app = app;
        return broker;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public override Task<QueryRouteResponse> QueryRoute(QueryRouteRequest request, ServerCallContext context)
    {
        var response = new QueryRouteResponse { Status = Ok };
        for (var id = 0; id < 4; id++)
        {
            response.MessageQueues.Add(new MessageQueue
            {
                Topic = request.Topic,
                Id = id,
                Permission = Permission.ReadWrite,
                Broker = new Broker { Name = "noop", Endpoints = new Endpoints { Scheme = AddressScheme.Ipv4, Addresses = { new Address { Host = "127.0.0.1", Port = Port } } } },
                AcceptMessageTypes = { MessageType.Normal },
            });
        }

        return Task.FromResult(response);
    }

    public override async Task Telemetry(IAsyncStreamReader<TelemetryCommand> requestStream, IServerStreamWriter<TelemetryCommand> responseStream, ServerCallContext context)
    {
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                if (requestStream.Current.Settings is { } settings)
                {
                    await responseStream.WriteAsync(new TelemetryCommand { Status = Ok, Settings = settings });
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context) => Task.FromResult(new HeartbeatResponse { Status = Ok });

    public override Task<SendMessageResponse> SendMessage(SendMessageRequest request, ServerCallContext context) =>
        Task.FromResult(new SendMessageResponse
        {
            Status = Ok,
            Entries = { new SendResultEntry { Status = Ok, MessageId = request.Messages[0].SystemProperties.MessageId } },
        });

    public override Task<NotifyClientTerminationResponse> NotifyClientTermination(NotifyClientTerminationRequest request, ServerCallContext context) =>
        Task.FromResult(new NotifyClientTerminationResponse { Status = Ok });
}
