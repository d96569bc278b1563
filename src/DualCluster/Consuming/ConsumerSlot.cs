using DualCluster.Fleet;
using DualCluster.Routing;
using DualCluster.Telemetry;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualCluster.Consuming;

/// <summary>Creates the one <see cref="DualClusterConsumer"/> of a registration in a container and hands it to the host and the status API.</summary>
internal sealed class ConsumerSlot(ConsumerRegistration registration)
{
    private readonly object _gate = new();

    public ConsumerRegistration Registration => registration;

    public DualClusterConsumer? Instance { get; private set; }

    public DualClusterConsumer Get(IServiceProvider services)
    {
        lock (_gate)
        {
            return Instance ??= new DualClusterConsumer(
                registration,
                services.GetRequiredService<RoutingState>(),
                services.GetRequiredService<ClusterTransports>(),
                services.GetRequiredService<IdempotencyGate>(),
                services.GetRequiredService<IServiceScopeFactory>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<DualClusterMetrics>(),
                services.GetRequiredService<FleetMonitor>(),
                services.GetService<ILoggerFactory>()?.CreateLogger($"DualCluster.Consumer.{registration.Subscription.Group}") ?? NullLogger.Instance);
        }
    }
}
