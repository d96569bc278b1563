namespace DualCluster.Routing;

/// <summary>
/// The safe-order guard: rejects configurations under which messages can be lost during the
/// migration (design §2). Stateless; the drain rule (leave Old only when its backlog is zero and all
/// producers write New) is enforced at run time by the consumer facade.
/// </summary>
public static class SafeOrderGuard
{
    /// <summary>Returns one message per violated invariant, each naming the keys and the fix; empty when safe.</summary>
    public static IReadOnlyList<string> Check(DualClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var fleet = FleetView.Of(options);
        var p = options.Producer;
        var c = options.Consumer;

        if (fleet.MayWriteNew && !fleet.SomeReadNew)
        {
            errors.Add(
                $"DualCluster:Producer:NewWeight={p.NewWeight}{(p.Mirror ? " with Mirror" : "")} moves writes to New while no consumer reads New " +
                "(a group that first connects later may start at the latest offset and never see them): " +
                "raise DualCluster:Consumer:NewWeight above 0 or enable DualCluster:Consumer:DoubleRead first.");
        }

        if (fleet.MayWriteOld && !fleet.SomeReadOld)
        {
            errors.Add(
                $"DualCluster:Consumer:NewWeight={c.NewWeight} without DoubleRead takes every consumer off Old while producers may still write Old " +
                $"(DualCluster:Producer:NewWeight={p.NewWeight}{(p.Mirror ? ", Mirror on" : "")}): " +
                "move all producers first (Producer:NewWeight=100, Mirror off, no Old overrides), or keep Consumer:NewWeight below 100 or DoubleRead on.");
        }

        var movingWrites = (fleet.MayWriteNew && fleet.MayWriteOld) || p.Mirror;
        if (movingWrites && !options.Idempotency.Enabled)
        {
            errors.Add(
                "DualCluster:Idempotency:Enabled is false while producers write both clusters; the double write produces duplicates: " +
                "set Idempotency:Enabled=true before moving producers.");
        }

        if (RoutingValues.TryParseFailover(p.Failover, out var failover) && failover && !options.Idempotency.Enabled)
        {
            errors.Add("DualCluster:Producer:Failover=OtherCluster needs DualCluster:Idempotency:Enabled=true (a failed-over retry may be a duplicate).");
        }

        return errors;
    }
}
