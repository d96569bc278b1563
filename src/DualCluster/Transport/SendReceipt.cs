namespace DualCluster.Transport;

/// <summary>What a broker returned for a stored message.</summary>
/// <param name="Cluster">The cluster that stored it.</param>
/// <param name="MessageId">The broker-visible message id.</param>
/// <param name="QueueId">The queue it went to, when the protocol reports it.</param>
/// <param name="Offset">Its offset in that queue, when the protocol reports it.</param>
public readonly record struct SendReceipt(ClusterRole Cluster, string MessageId, int QueueId = -1, long Offset = -1);
