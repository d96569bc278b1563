namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The tests against live clusters share one topic and one group per cluster (and both variables may even name one
/// deployment), so they run one at a time: two consumers of the group at once would split its queues between them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveClustersInSequence
{
    public const string Name = "Live RocketMQ clusters";
}
