using DualCluster.Fleet;

namespace DualCluster.Testing;

/// <summary>
/// A node's view of the shared fleet registry: once the node is dead (a crashed process) it publishes and removes nothing
/// more, so its record lapses after its time to live, as a dead process's would.
/// </summary>
internal sealed class NodeFleetRegistry(IFleetRegistry inner, RehearsalNode node) : IFleetRegistry
{
    public ValueTask PublishAsync(FleetMember member, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        node.IsDead ? ValueTask.CompletedTask : inner.PublishAsync(member, timeToLive, cancellationToken);

    public ValueTask<IReadOnlyList<FleetMember>> GetLiveMembersAsync(CancellationToken cancellationToken = default) =>
        inner.GetLiveMembersAsync(cancellationToken);

    public ValueTask RemoveAsync(string nodeId, CancellationToken cancellationToken = default) =>
        node.IsDead ? ValueTask.CompletedTask : inner.RemoveAsync(nodeId, cancellationToken);
}
