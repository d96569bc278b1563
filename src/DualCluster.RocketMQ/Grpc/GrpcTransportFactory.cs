using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>Creates RocketMQ 5.x gRPC transports for clusters whose <c>Protocol</c> is <c>Grpc</c>.</summary>
internal sealed class GrpcTransportFactory : IClusterTransportFactory
{
    /// <summary>The protocol name in configuration.</summary>
    public const string ProtocolName = "Grpc";

    public string Protocol => ProtocolName;

    public IClusterTransport Create(ClusterRole role, ClusterOptions options, IServiceProvider services) =>
        new GrpcClusterTransport(
            GrpcTransportOptions.From(role, options),
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance);

    public IEnumerable<string> Validate(ClusterRole role, ClusterOptions options) => GrpcTransportOptions.Validate(role, options);
}
