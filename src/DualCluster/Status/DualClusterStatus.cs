using DualCluster.Consuming;
using DualCluster.Idempotency;
using DualCluster.Routing;

namespace DualCluster.Status;

internal sealed class DualClusterStatus(RoutingState routing, IEnumerable<ConsumerSlot> consumers, IIdempotencyStore store) : IDualClusterStatus
{
    private readonly ConsumerSlot[] _consumers = [.. consumers];

    public NodeStatus GetStatus()
    {
        var current = routing.Current;
        var plan = current.Plan;
        var consumerStatuses = _consumers.Select(c => c.Instance?.Status).OfType<ConsumerStatus>().ToArray();
        return new NodeStatus(plan.NodeId, plan.Bucket, plan.ProducerTarget, plan.Mirror, plan.ConsumerTargets, current.Version, routing.RejectedCount, routing.LastRejection, consumerStatuses)
        {
            Warnings = FleetStoreCheck.Warning(store, current) is { } warning ? [warning] : [],
        };
    }
}
