namespace DualCluster.Fleet;

/// <summary>
/// The shared fleet registry: every node publishes its <see cref="FleetMember"/> record with a time to live, and reads
/// everyone's. A record not published again within its time to live lapses: that node counts as gone. Implementations:
/// <see cref="InMemoryFleetRegistry"/> (one process, tests), and the Redis and PostgreSQL packages (a fleet).
/// </summary>
/// <remarks>Thread-safe. Lapse is judged on the store's clock where it has one, so node clock skew does not matter.</remarks>
public interface IFleetRegistry
{
    /// <summary>Publishes (or replaces) <paramref name="member"/>'s record; it lapses after <paramref name="timeToLive"/> unless published again.</summary>
    /// <exception cref="FleetRegistryUnavailableException">The store could not be reached.</exception>
    ValueTask PublishAsync(FleetMember member, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>Every record that has not lapsed, ordered by node id.</summary>
    /// <exception cref="FleetRegistryUnavailableException">The store could not be reached.</exception>
    ValueTask<IReadOnlyList<FleetMember>> GetLiveMembersAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="nodeId"/>'s record at once (a node leaving gracefully). Removing an absent record does nothing.</summary>
    /// <exception cref="FleetRegistryUnavailableException">The store could not be reached.</exception>
    ValueTask RemoveAsync(string nodeId, CancellationToken cancellationToken = default);
}
