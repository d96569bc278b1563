using DualCluster.RocketMQ.Grpc;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>Builds gRPC transport settings and connections for tests that need no server.</summary>
internal static class GrpcTestOptions
{
    public static ClusterOptions Cluster(Action<ClusterOptions>? configure = null)
    {
        var options = new ClusterOptions { Protocol = "Grpc", Endpoint = "http://127.0.0.1:8081" };
        configure?.Invoke(options);
        return options;
    }

    public static GrpcConnection Connection(Action<ClusterOptions>? configure = null, TimeProvider? time = null) =>
        new(GrpcTransportOptions.From(ClusterRole.New, Cluster(configure)), time ?? TimeProvider.System);
}
