using DualCluster.RocketMQ.Grpc;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Transport;

// The extensions live in the builder's namespace so they show up wherever the builder is used.
#pragma warning disable IDE0130
namespace DualCluster;
#pragma warning restore IDE0130

/// <summary>Registers the RocketMQ transports of this package on a <see cref="DualClusterBuilder"/>.</summary>
public static class RocketMQBuilderExtensions
{
    /// <summary>
    /// Registers both RocketMQ protocols, so each cluster can pick its own in configuration:
    /// <c>"Protocol": "Grpc"</c> (RocketMQ 5.x proxies, TDMQ for RocketMQ 5.x) and <c>"Protocol": "Remoting"</c>
    /// (RocketMQ 4.x name servers). Calling it more than once, or together with
    /// <see cref="UseRocketMQGrpc"/> / <see cref="RemotingBuilderExtensions.UseRocketMQRemoting"/>, registers each once.
    /// </summary>
    /// <param name="builder">The DualCluster builder.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static DualClusterBuilder UseRocketMQ(this DualClusterBuilder builder) =>
        builder.UseRocketMQGrpc().UseRocketMQRemoting();

    /// <summary>
    /// Lets clusters configured with <c>"Protocol": "Grpc"</c> connect to a RocketMQ 5.x gRPC endpoint (TDMQ for
    /// RocketMQ 5.x, Apache RocketMQ 5.x proxies) with DualCluster's own implementation of the protocol. The cluster's
    /// <c>Endpoint</c> (<c>host:port</c>; <c>https://</c> for TLS, <c>http://</c> for plaintext), <c>Namespace</c>,
    /// <c>AccessKey</c>/<c>SecretKey</c>/<c>SecurityToken</c>, <c>Tls</c>, <c>AllowInvalidCertificates</c>,
    /// <c>RequestTimeout</c>, <c>MaxBodySize</c> and <c>Settings</c> are validated at start and on every reload;
    /// messages name the key, e.g. <c>DualCluster:Clusters:New:Endpoint</c>.
    /// </summary>
    /// <param name="builder">The DualCluster builder.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static DualClusterBuilder UseRocketMQGrpc(this DualClusterBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var descriptor in builder.Services)
        {
            if (descriptor.ServiceType == typeof(IClusterTransportFactory) && descriptor.ImplementationInstance is GrpcTransportFactory)
            {
                return builder;
            }
        }

        return builder.AddTransportFactory(new GrpcTransportFactory());
    }
}
