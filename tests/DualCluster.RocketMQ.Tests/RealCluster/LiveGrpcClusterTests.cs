namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The transport conformance suite and the fault-free scenarios against the live 5.x cluster named by
/// <c>DUALCLUSTER_IT_GRPC_*</c>, on <c>DUALCLUSTER_IT_TOPIC</c> / <c>DUALCLUSTER_IT_GROUP</c>. Skipped when unset.
/// </summary>
[LiveGrpcCluster]
[Collection(LiveClustersInSequence.Name)]
public sealed class LiveGrpcClusterTests : RealClusterConformanceTests
{
    /// <summary>The 5.x client protocol has no backlog query: the probe reports unknown.</summary>
    protected override bool BacklogIsExact => false;

    /// <summary>The proxy's minimum invisible duration (the transport raises anything lower to it).</summary>
    protected override TimeSpan InvisibleDuration => TimeSpan.FromSeconds(10);

    private static LiveCluster Cluster => LiveClusterSettings.Environment.RequireGrpc();

    [LiveGrpcFact]
    public Task Messages_sent_to_the_live_cluster_arrive_intact_once_each() => LiveScenarios.SentMessagesArriveIntactOnceEachAsync(Cluster);

    [LiveGrpcFact]
    public Task A_handler_failure_on_the_live_cluster_is_redelivered_then_settled() => LiveScenarios.HandlerFailureIsRedeliveredThenSettledAsync(Cluster);

    [LiveGrpcFact]
    public Task The_live_cluster_reports_the_backlog_unknown_never_drained() => LiveScenarios.BacklogIsReportedAsTheProtocolCanAsync(Cluster);

    [LiveGrpcFact]
    public Task A_consumer_stopped_and_started_again_on_the_live_cluster_loses_nothing() => LiveScenarios.ConsumerStoppedAndStartedAgainLosesNothingAsync(Cluster);

    private protected override Task<(LiveCluster Cluster, IAsyncDisposable? Servers)> ConnectAsync() =>
        Task.FromResult<(LiveCluster, IAsyncDisposable?)>((Cluster, null));
}
