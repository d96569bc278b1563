using DualCluster.Routing;

namespace DualCluster.Tests.Routing;

public sealed class RoutingPlanTests
{
    private static string NodeInBucket(Func<int, bool> predicate) =>
        Enumerable.Range(0, 10_000).Select(i => $"node-{i}").First(id => predicate(NodeBucket.Compute(id)));

    [Fact]
    public void A_node_below_the_weight_writes_and_reads_New()
    {
        var node = NodeInBucket(b => b < 30);
        var options = new DualClusterOptions { Producer = { NewWeight = 30 }, Consumer = { NewWeight = 30 } };
        var plan = RoutingPlan.For(node, options);
        Assert.Equal(ClusterRole.New, plan.ProducerTarget);
        Assert.Equal(ClusterSet.New, plan.ConsumerTargets);
    }

    [Fact]
    public void A_node_at_or_above_the_weight_stays_on_Old()
    {
        var node = NodeInBucket(b => b >= 30);
        var options = new DualClusterOptions { Producer = { NewWeight = 30 }, Consumer = { NewWeight = 30 } };
        var plan = RoutingPlan.For(node, options);
        Assert.Equal(ClusterRole.Old, plan.ProducerTarget);
        Assert.Equal(ClusterSet.Old, plan.ConsumerTargets);
    }

    [Fact]
    public void Double_read_makes_every_node_read_both()
    {
        var options = new DualClusterOptions { Consumer = { NewWeight = 0, DoubleRead = true } };
        Assert.Equal(ClusterSet.Both, RoutingPlan.For("any", options).ConsumerTargets);
    }

    [Fact]
    public void Overrides_win_over_weights_case_insensitively()
    {
        var node = NodeInBucket(b => b >= 50);
        var options = new DualClusterOptions { Producer = { NewWeight = 50 }, Consumer = { NewWeight = 50 } };
        options.Overrides[node] = new NodeOverrideOptions { Producer = "new", Consumer = "BOTH" };
        var plan = RoutingPlan.For(node, options);
        Assert.Equal(ClusterRole.New, plan.ProducerTarget);
        Assert.Equal(ClusterSet.Both, plan.ConsumerTargets);
    }

    [Fact]
    public void Node_id_comes_from_configuration_then_POD_NAME_then_HOSTNAME()
    {
        var env = new Dictionary<string, string?> { ["POD_NAME"] = "pod-1", ["HOSTNAME"] = "host-1" };
        Assert.Equal("cfg", NodeIdentity.Resolve("cfg", n => env.GetValueOrDefault(n)));
        Assert.Equal("pod-1", NodeIdentity.Resolve(null, n => env.GetValueOrDefault(n)));
        env.Remove("POD_NAME");
        Assert.Equal("host-1", NodeIdentity.Resolve(" ", n => env.GetValueOrDefault(n)));
        env.Clear();
        Assert.Equal(Environment.MachineName, NodeIdentity.Resolve(null, n => env.GetValueOrDefault(n)));
    }
}
