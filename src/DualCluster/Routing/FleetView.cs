namespace DualCluster.Routing;

/// <summary>
/// What the fleet as a whole may do under one configuration: the facts the safe-order guard, the
/// failover rule and the drain check reason about. A weight strictly between 0 and 100 is taken to put
/// some nodes on each side; overrides count for the node they name.
/// </summary>
/// <param name="MayWriteNew">Some producer may write New.</param>
/// <param name="MayWriteOld">Some producer may write Old.</param>
/// <param name="SomeReadNew">Some consumer reads New.</param>
/// <param name="SomeReadOld">Some consumer reads Old.</param>
public readonly record struct FleetView(bool MayWriteNew, bool MayWriteOld, bool SomeReadNew, bool SomeReadOld)
{
    /// <summary>Every producer writes New only (the precondition for consumers to leave Old for good).</summary>
    public bool AllWriteNew => !MayWriteOld;

    /// <summary>Whether some consumer reads <paramref name="role"/>.</summary>
    public bool HasReaders(ClusterRole role) => role == ClusterRole.New ? SomeReadNew : SomeReadOld;

    /// <summary>Summarises <paramref name="options"/>.</summary>
    public static FleetView Of(DualClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var p = options.Producer;
        var c = options.Consumer;
        var mayWriteNew = p.NewWeight > 0 || p.Mirror;
        var mayWriteOld = p.NewWeight < 100 || p.Mirror;
        var readNew = c.NewWeight > 0 || c.DoubleRead;
        var readOld = c.NewWeight < 100 || c.DoubleRead;

        foreach (var o in options.Overrides.Values)
        {
            if (RoutingValues.TryParseRole(o.Producer, out var role))
            {
                mayWriteNew |= role == ClusterRole.New;
                mayWriteOld |= role == ClusterRole.Old;
            }

            if (RoutingValues.TryParseSet(o.Consumer, out var set))
            {
                readNew |= set.Contains(ClusterRole.New);
                readOld |= set.Contains(ClusterRole.Old);
            }
        }

        return new FleetView(mayWriteNew, mayWriteOld, readNew, readOld);
    }
}
