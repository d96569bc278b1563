using DualCluster.Fleet;
using DualCluster.Consuming;
using DualCluster.Idempotency;
using DualCluster.Routing;

namespace DualCluster.Status;

internal sealed class DualClusterStatus(RoutingState routing, IEnumerable<ConsumerSlot> consumers, IIdempotencyStore store, IDualClusterFleet fleet) : IDualClusterStatus
{
    private readonly ConsumerSlot[] _consumers = [.. consumers];

    public NodeStatus GetStatus()
    {
        var current = routing.Current;
        var plan = current.Plan;
        var report = fleet.GetFleet();
        var consumerStatuses = _consumers.Select(c => c.Instance?.Status).OfType<ConsumerStatus>().ToArray();
        return new NodeStatus(plan.NodeId, plan.Bucket, plan.ProducerTarget, plan.Mirror, plan.ConsumerTargets, current.Version, routing.RejectedCount, routing.LastRejection, consumerStatuses)
        {
            Warnings = FleetStoreCheck.Warning(store, current) is { } warning ? [warning] : [],
            GuardMode = report.Mode,
            Waits = [.. report.Waits, .. consumerStatuses.Where(c => c.DrainReason is not null).Select(c => $"consumer {c.Group}/{c.Topic} drains {c.DrainReason}")],
        };
    }
}
