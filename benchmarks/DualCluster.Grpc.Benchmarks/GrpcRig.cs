using DualCluster.RocketMQ.Grpc;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualCluster.Grpc.Benchmarks;

/// <summary>A loopback 5.x gRPC broker (Kestrel, h2c) over an in-memory broker, and a gRPC transport pointed at it.</summary>
internal sealed class GrpcRig : IAsyncDisposable
{
    private GrpcRig(InMemoryBroker broker, GrpcLoopbackBroker server, GrpcClusterTransport transport)
    {
        Broker = broker;
        Server = server;
        Transport = transport;
    }

    public InMemoryBroker Broker { get; }

    public GrpcLoopbackBroker Server { get; }

    public GrpcClusterTransport Transport { get; }

    public static async Task<GrpcRig> StartAsync()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { NewGroupStartPosition = ConsumeStartPosition.Earliest });
        // The loopback, like a 5.x proxy, creates no topic: create the ones the send benchmarks and probes use.
        broker.CreateTopic("BenchSend", 4);
        broker.CreateTopic("BenchLatency", 4);
        var server = await GrpcLoopbackBroker.StartAsync(broker);
        var options = server.ConfigureCluster(new ClusterOptions());
        options.Settings["AssignmentScanInterval"] = "00:00:01";
        var transport = new GrpcClusterTransport(GrpcTransportOptions.From(ClusterRole.New, options), TimeProvider.System, NullLoggerFactory.Instance);
        return new GrpcRig(broker, server, transport);
    }

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        await Server.DisposeAsync();
    }
}
