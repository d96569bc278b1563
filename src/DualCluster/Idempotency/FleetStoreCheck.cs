using DualCluster.Routing;

namespace DualCluster.Idempotency;

/// <summary>
/// Says when the idempotency store in use cannot do its job for the fleet: a node-local store catches only the
/// duplicates that reach the same node, while writes to both clusters (split producers, mirror, failover) and
/// redeliveries after a rebalance reach other nodes.
/// </summary>
internal static class FleetStoreCheck
{
    /// <summary>The warning to show, or null when the store is fine for what the fleet does now.</summary>
    public static string? Warning(IIdempotencyStore store, RoutingSnapshot snapshot)
    {
        if (!snapshot.Options.Idempotency.Enabled || !IsNodeLocal(store))
        {
            return null;
        }

        var fleet = snapshot.Fleet;
        if (!(fleet.MayWriteNew && fleet.MayWriteOld))
        {
            return null;
        }

        return "The idempotency store is node-local (in memory) while producers may write both clusters: a message written "
            + "to both, or redelivered to another node, can run twice. Use a fleet-wide store (UseRedisIdempotencyStore or "
            + "UsePostgreSqlIdempotencyStore) before moving producers.";
    }

    private static bool IsNodeLocal(IIdempotencyStore store) => store switch
    {
        // Only the default one: an instance the application passed in on purpose may be shared (in-process nodes in a test).
        InMemoryIdempotencyStore memory => memory.IsNodeDefault,
        CoalescingIdempotencyStore coalescing => IsNodeLocal(coalescing.Inner),
        LocalCacheIdempotencyStore cached => IsNodeLocal(cached.Inner),
        _ => false,
    };
}
