namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The transport conformance suite and the fault-free scenarios against the live 4.x cluster named by
/// <c>DUALCLUSTER_IT_REMOTING_*</c>, on <c>DUALCLUSTER_IT_TOPIC</c> / <c>DUALCLUSTER_IT_GROUP</c>. Skipped when unset.
/// </summary>
[LiveRemotingCluster]
[Collection(LiveClustersInSequence.Name)]
public sealed class LiveRemotingClusterTests : RealClusterConformanceTests
{
    protected override bool BacklogIsExact => true;

    protected override TimeSpan InvisibleDuration => TimeSpan.FromSeconds(2);

    private static LiveCluster Cluster => LiveClusterSettings.Environment.RequireRemoting();

    [LiveRemotingFact]
    public Task Messages_sent_to_the_live_cluster_arrive_intact_once_each() => LiveScenarios.SentMessagesArriveIntactOnceEachAsync(Cluster);

    [LiveRemotingFact]
    public Task A_handler_failure_on_the_live_cluster_is_redelivered_then_settled() => LiveScenarios.HandlerFailureIsRedeliveredThenSettledAsync(Cluster);

    [LiveRemotingFact]
    public Task The_live_cluster_counts_the_backlog_exactly_and_drains() => LiveScenarios.BacklogIsReportedAsTheProtocolCanAsync(Cluster);

    [LiveRemotingFact]
    public Task A_consumer_stopped_and_started_again_on_the_live_cluster_loses_nothing() => LiveScenarios.ConsumerStoppedAndStartedAgainLosesNothingAsync(Cluster);

    private protected override Task<(LiveCluster Cluster, IAsyncDisposable? Servers)> ConnectAsync() =>
        Task.FromResult<(LiveCluster, IAsyncDisposable?)>((Cluster, null));
}
