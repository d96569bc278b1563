namespace DualCluster;

/// <summary>Tells where this node stands in the migration. Resolve from DI; thread-safe.</summary>
public interface IDualClusterStatus
{
    /// <summary>A snapshot of the node's routing and consumers.</summary>
    NodeStatus GetStatus();
}
