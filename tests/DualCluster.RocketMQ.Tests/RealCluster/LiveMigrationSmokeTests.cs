namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The migration smoke test against the two live clusters: Old = the 4.x cluster of <c>DUALCLUSTER_IT_REMOTING_*</c>,
/// New = the 5.x cluster of <c>DUALCLUSTER_IT_GRPC_*</c>, the same topic and group on both. Skipped unless both are set.
/// </summary>
[Collection(LiveClustersInSequence.Name)]
public sealed class LiveMigrationSmokeTests
{
    [LiveMigrationFact]
    public Task Mirrored_writes_read_from_both_live_clusters_are_handled_once_each() =>
        LiveScenarios.MirroredMessagesReadFromBothClustersAreHandledOnceAsync(
            LiveClusterSettings.Environment.RequireRemoting(), LiveClusterSettings.Environment.RequireGrpc());
}
