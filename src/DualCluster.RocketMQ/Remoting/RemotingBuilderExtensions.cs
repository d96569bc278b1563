using DualCluster.Transport;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>Registers the RocketMQ 4.x remoting transport on a <see cref="DualClusterBuilder"/>.</summary>
public static class RemotingBuilderExtensions
{
    /// <summary>
    /// Lets clusters configured with <c>"Protocol": "Remoting"</c> connect to RocketMQ 4.x name servers
    /// (self-built Apache clusters, TDMQ's 4.x endpoint). Settings are validated at start and on reload;
    /// messages name the key, e.g. <c>DualCluster:Clusters:Old:NameServers</c>.
    /// </summary>
    /// <param name="builder">The DualCluster builder.</param>
    /// <returns>The same builder.</returns>
    public static DualClusterBuilder UseRocketMQRemoting(this DualClusterBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var descriptor in builder.Services)
        {
            if (descriptor.ServiceType == typeof(IClusterTransportFactory) && descriptor.ImplementationInstance is RemotingTransportFactory)
            {
                return builder;
            }
        }

        return builder.AddTransportFactory(new RemotingTransportFactory());
    }
}
