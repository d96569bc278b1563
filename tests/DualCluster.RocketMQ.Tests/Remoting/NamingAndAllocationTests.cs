using System.Text;
using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Tests.Remoting;

public sealed class NamingAndAllocationTests
{
    [Theory]
    [InlineData("ns1", "topic1", "ns1%topic1")]
    [InlineData("ns1", "%RETRY%group1", "%RETRY%ns1%group1")]
    [InlineData("ns1", "%DLQ%group1", "%DLQ%ns1%group1")]
    [InlineData("ns1", "ns1%topic1", "ns1%topic1")]
    [InlineData("ns1", "TBW102", "TBW102")]
    [InlineData("rocketmq-xxx|ns1", "topic1", "rocketmq-xxx|ns1%topic1")]
    [InlineData("rocketmq-xxx|ns1", "%RETRY%group1", "%RETRY%rocketmq-xxx|ns1%group1")]
    [InlineData(null, "topic1", "topic1")]
    public void Names_are_wrapped_with_the_namespace(string? ns, string name, string wire)
    {
        var space = new ResourceNamespace(ns);
        Assert.Equal(wire, space.Wrap(name));
        Assert.Equal(name == "ns1%topic1" ? "topic1" : name, space.Unwrap(wire));
    }

    [Fact]
    public void Eight_queues_over_three_consumers_split_three_three_two()
    {
        var queues = Enumerable.Range(0, 8).Select(i => new MessageQueue("T", "broker-a", i)).ToList();
        string[] clients = ["c", "a", "b"];

        var a = QueueAllocation.Averagely(queues, clients, "a").Select(q => q.QueueId);
        var b = QueueAllocation.Averagely(queues, clients, "b").Select(q => q.QueueId);
        var c = QueueAllocation.Averagely(queues, clients, "c").Select(q => q.QueueId);

        Assert.Equal([0, 1, 2], a);
        Assert.Equal([3, 4, 5], b);
        Assert.Equal([6, 7], c);
    }

    [Fact]
    public void Three_queues_over_five_consumers_leave_the_last_two_idle()
    {
        var queues = Enumerable.Range(0, 3).Select(i => new MessageQueue("T", "broker-a", i)).ToList();
        string[] clients = ["c0", "c1", "c2", "c3", "c4"];

        var owned = clients.Select(c => QueueAllocation.Averagely(queues, clients, c).Select(q => q.QueueId).ToArray()).ToArray();

        Assert.Equal([[0], [1], [2], [], []], owned);
    }

    [Fact]
    public void Allocation_sorts_ordinally_across_brokers_and_ignores_unknown_clients()
    {
        var queues = new[] { new MessageQueue("T", "broker-b", 0), new MessageQueue("T", "broker-a", 1), new MessageQueue("T", "broker-a", 0), new MessageQueue("T", "Broker-z", 0) };
        string[] clients = ["b@2", "B@1"];

        Assert.Equal([new MessageQueue("T", "Broker-z", 0), new MessageQueue("T", "broker-a", 0)], QueueAllocation.Averagely(queues, clients, "B@1"));
        Assert.Empty(QueueAllocation.Averagely(queues, clients, "stranger"));
    }

    [Fact]
    public void Route_with_bare_numeric_keys_and_old_flag_name_is_parsed()
    {
        var body = "{\"brokerDatas\":[{\"brokerAddrs\":{0:\"10.0.0.5:10911\",1:\"10.0.0.6:10911\"},\"brokerName\":\"broker-a\",\"cluster\":\"DefaultCluster\"}],\"filterServerTable\":{},\"queueDatas\":[{\"brokerName\":\"broker-a\",\"perm\":6,\"readQueueNums\":4,\"topicSynFlag\":0,\"writeQueueNums\":2}]}";

        var route = TopicRoute.Parse("T", Encoding.UTF8.GetBytes(body));

        Assert.Equal("10.0.0.5:10911", route.MasterAddress("broker-a"));
        Assert.Equal(2, route.PublishQueues("T").Count);
        Assert.Equal(4, route.SubscribeQueues("T").Count);
    }

    [Fact]
    public void Publish_list_skips_brokers_without_master_or_write_permission()
    {
        var body = "{\"brokerDatas\":[{\"brokerAddrs\":{\"1\":\"s:1\"},\"brokerName\":\"b\",\"cluster\":\"C\"},{\"brokerAddrs\":{\"0\":\"m:1\"},\"brokerName\":\"a\",\"cluster\":\"C\"},{\"brokerAddrs\":{\"0\":\"m:2\"},\"brokerName\":\"c\",\"cluster\":\"C\"}],\"queueDatas\":[{\"brokerName\":\"b\",\"perm\":6,\"readQueueNums\":1,\"writeQueueNums\":1},{\"brokerName\":\"c\",\"perm\":4,\"readQueueNums\":1,\"writeQueueNums\":1},{\"brokerName\":\"a\",\"perm\":6,\"readQueueNums\":1,\"writeQueueNums\":2}]}";

        var route = TopicRoute.Parse("T", Encoding.UTF8.GetBytes(body));

        Assert.Equal([new MessageQueue("T", "a", 0), new MessageQueue("T", "a", 1)], route.PublishQueues("T"));
        Assert.Equal("s:1", route.ReadAddress("b"));
    }

    [Fact]
    public void Message_group_always_selects_the_same_queue()
    {
        var queues = Enumerable.Range(0, 4).Select(i => new MessageQueue("T", "broker-a", i)).ToList();

        var first = RemotingProducer.SelectOrdered(queues, "order-42");

        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(first, RemotingProducer.SelectOrdered(queues, "order-42")));
    }
}
