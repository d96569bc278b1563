namespace DualCluster.Routing;

/// <summary>One valid configuration as applied on this node, with what follows from it.</summary>
/// <param name="Options">The validated options.</param>
/// <param name="Plan">This node's targets.</param>
/// <param name="Fleet">What the fleet as a whole may do.</param>
/// <param name="Version">Increases by one with each applied change.</param>
internal sealed record RoutingSnapshot(DualClusterOptions Options, RoutingPlan Plan, FleetView Fleet, long Version)
{
    public bool FailoverEnabled => RoutingValues.TryParseFailover(Options.Producer.Failover, out var other) && other;
}
