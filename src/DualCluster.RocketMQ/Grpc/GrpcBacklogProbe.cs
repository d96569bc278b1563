using DualCluster.Transport;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// The 5.x client protocol has no backlog query (fact sheet §1: clients never call the Admin service), so every
/// count is reported unknown — never 0 — and the drain check keeps treating the cluster as not drained.
/// </summary>
internal sealed class GrpcBacklogProbe(ClusterRole role) : IBacklogProbe
{
    public ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default) =>
        new(BacklogReport.Unknown(
            $"{role}: the RocketMQ 5.x gRPC protocol offers clients no backlog query for {group}/{topic}; check the console's consumer-group lag."));
}
