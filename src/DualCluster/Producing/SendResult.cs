using DualCluster.Transport;

namespace DualCluster;

/// <summary>The outcome of a facade send.</summary>
/// <param name="Receipt">The receipt of the cluster that stored the message.</param>
/// <param name="IdempotencyKey">The key consumers will dedupe on.</param>
/// <param name="FailedOver">True when the target failed and the other cluster stored the message.</param>
/// <param name="MirrorReceipt">With mirroring, the other cluster's receipt; null when not mirrored or the mirror write failed.</param>
public readonly record struct SendResult(SendReceipt Receipt, string IdempotencyKey, bool FailedOver = false, SendReceipt? MirrorReceipt = null)
{
    /// <summary>The cluster that stored the message.</summary>
    public ClusterRole Cluster => Receipt.Cluster;
}
