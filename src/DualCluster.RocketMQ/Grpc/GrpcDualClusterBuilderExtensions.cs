using DualCluster.RocketMQ.Grpc;

// The extension lives in the builder's namespace so it shows up where the builder is used.
#pragma warning disable IDE0130
namespace DualCluster;
#pragma warning restore IDE0130

/// <summary>Registers the RocketMQ 5.x gRPC transport on a <see cref="DualClusterBuilder"/>.</summary>
public static class GrpcDualClusterBuilderExtensions
{
    /// <summary>
    /// Serves clusters configured with <c>"Protocol": "Grpc"</c> (TDMQ for RocketMQ 5.x, Apache RocketMQ 5.x proxies)
    /// with DualCluster's own implementation of the 5.x gRPC protocol. Their <c>Endpoint</c>, <c>Namespace</c>,
    /// <c>AccessKey</c>/<c>SecretKey</c>/<c>SecurityToken</c>, <c>Tls</c>, <c>AllowInvalidCertificates</c>,
    /// <c>RequestTimeout</c> and <c>MaxBodySize</c> are validated at start and on every reload.
    /// </summary>
    /// <param name="builder">The DualCluster builder.</param>
    /// <returns>The same builder.</returns>
    public static DualClusterBuilder UseRocketMQGrpc(this DualClusterBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddTransportFactory(new GrpcTransportFactory());
    }
}
