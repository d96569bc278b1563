using DualCluster.Routing;

namespace DualCluster.Tests.Routing;

public sealed class NodeBucketTests
{
    [Theory]
    [InlineData("", 0x811C9DC5u)]
    [InlineData("a", 0xE40C292Cu)]
    [InlineData("foobar", 0xBF9CF968u)]
    public void Hash_is_FNV_1a_32_over_UTF8(string value, uint expected)
    {
        Assert.Equal(expected, NodeBucket.Fnv1a32(value));
    }

    [Fact]
    public void Bucket_is_stable_for_a_node_id()
    {
        // Pinned so that a change of hash (which would re-route a live fleet) fails loudly.
        Assert.Equal((int)(NodeBucket.Fnv1a32("order-svc-7") % 100), NodeBucket.Compute("order-svc-7"));
        Assert.Equal(NodeBucket.Compute("order-svc-7"), NodeBucket.Compute("order-svc-7"));
    }

    [Fact]
    public void Random_node_ids_land_on_New_within_three_points_of_the_weight()
    {
        var random = new Random(42);
        var ids = Enumerable.Range(0, 10_000).Select(_ => $"node-{random.NextInt64():x}-{Guid.NewGuid():N}").ToArray();
        foreach (var weight in new[] { 1, 10, 30, 50, 70, 99 })
        {
            var onNew = ids.Count(id => NodeBucket.IsOnNew(NodeBucket.Compute(id), weight));
            var percent = onNew * 100.0 / ids.Length;
            Assert.InRange(percent, weight - 3, weight + 3);
        }
    }

    [Fact]
    public void Raising_a_weight_never_moves_a_node_back_to_Old()
    {
        var ids = Enumerable.Range(0, 2_000).Select(i => $"pod-{i}").ToArray();
        for (var weight = 0; weight < 100; weight++)
        {
            foreach (var id in ids)
            {
                var bucket = NodeBucket.Compute(id);
                if (NodeBucket.IsOnNew(bucket, weight))
                {
                    Assert.True(NodeBucket.IsOnNew(bucket, weight + 1));
                }
            }
        }
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(100, true)]
    public void Weight_0_keeps_every_node_on_Old_and_100_moves_every_node(int weight, bool expected)
    {
        for (var i = 0; i < 500; i++)
        {
            Assert.Equal(expected, NodeBucket.IsOnNew(NodeBucket.Compute($"n{i}"), weight));
        }
    }
}
