namespace DualCluster.Routing;

/// <summary>Where one node writes and reads, derived from the weights, double-read and its override.</summary>
/// <param name="NodeId">The node.</param>
/// <param name="Bucket">Its bucket, 0–99.</param>
/// <param name="ProducerTarget">The cluster its producer writes.</param>
/// <param name="Mirror">Whether every send also goes to the other cluster.</param>
/// <param name="ConsumerTargets">The clusters its consumers read.</param>
public sealed record RoutingPlan(string NodeId, int Bucket, ClusterRole ProducerTarget, bool Mirror, ClusterSet ConsumerTargets)
{
    /// <summary>Computes the plan of <paramref name="nodeId"/> under <paramref name="options"/> (assumed valid).</summary>
    public static RoutingPlan For(string nodeId, DualClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var bucket = NodeBucket.Compute(nodeId);
        var producer = NodeBucket.IsOnNew(bucket, options.Producer.NewWeight) ? ClusterRole.New : ClusterRole.Old;
        var consumer = options.Consumer.DoubleRead
            ? ClusterSet.Both
            : NodeBucket.IsOnNew(bucket, options.Consumer.NewWeight) ? ClusterSet.New : ClusterSet.Old;

        if (options.Overrides.TryGetValue(nodeId, out var nodeOverride))
        {
            if (RoutingValues.TryParseRole(nodeOverride.Producer, out var role))
            {
                producer = role;
            }

            if (RoutingValues.TryParseSet(nodeOverride.Consumer, out var set))
            {
                consumer = set;
            }
        }

        return new RoutingPlan(nodeId, bucket, producer, options.Producer.Mirror, consumer);
    }
}
