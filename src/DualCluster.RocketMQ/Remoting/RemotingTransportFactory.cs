using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>Creates remoting transports for clusters configured with <c>"Protocol": "Remoting"</c>.</summary>
internal sealed class RemotingTransportFactory : IClusterTransportFactory
{
    public const string ProtocolName = "Remoting";

    public string Protocol => ProtocolName;

    public IClusterTransport Create(ClusterRole role, ClusterOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("DualCluster.RocketMQ.Remoting");
        return new RemotingTransport(role, RemotingSettings.From(options), time, logger);
    }

    public IEnumerable<string> Validate(ClusterRole role, ClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return RemotingSettings.Validate(role, options).ToList();
    }
}
