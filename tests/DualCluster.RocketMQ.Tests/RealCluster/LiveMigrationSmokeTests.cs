namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The migration smoke test against the two live clusters: Old = the 4.x cluster of <c>DUALCLUSTER_IT_REMOTING_*</c>,
/// New = the 5.x cluster of <c>DUALCLUSTER_IT_GRPC_*</c>, the same topic and group on both. Skipped unless both are set.
/// </summary>
[Collection(LiveClustersInSequence.Name)]
public sealed class LiveMigrationSmokeTests
{
    [LiveMigrationFact]
    public Task Messages_written_to_Old_to_New_or_to_both_live_clusters_are_each_handled_once() =>
        LiveScenarios.MigrationFacadesHandleEveryMessageOnceAsync(
            LiveClusterSettings.Environment.RequireRemoting(), LiveClusterSettings.Environment.RequireGrpc());
}
