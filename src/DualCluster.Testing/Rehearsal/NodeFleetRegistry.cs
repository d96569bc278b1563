using DualCluster.Fleet;

namespace DualCluster.Testing;

/// <summary>
/// A node's view of the shared fleet registry: unreachable while the registry-outage fault holds it down, and once the
/// node is dead (a crashed process) it publishes and removes nothing more, so its record lapses after its time to live.
/// </summary>
internal sealed class NodeFleetRegistry(IFleetRegistry inner, RehearsalNode node, StoreSwitch outage) : IFleetRegistry
{
    public ValueTask PublishAsync(FleetMember member, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return node.IsDead ? ValueTask.CompletedTask : inner.PublishAsync(member, timeToLive, cancellationToken);
    }

    public ValueTask<IReadOnlyList<FleetMember>> GetLiveMembersAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return inner.GetLiveMembersAsync(cancellationToken);
    }

    public ValueTask RemoveAsync(string nodeId, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return node.IsDead ? ValueTask.CompletedTask : inner.RemoveAsync(nodeId, cancellationToken);
    }

    private void ThrowIfDown()
    {
        if (outage.IsDown)
        {
            throw new FleetRegistryUnavailableException("The fleet registry is down (the rehearsal's registry-outage fault).");
        }
    }
}
