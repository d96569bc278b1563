using System.Text;
using System.Text.Json;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Transport;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>The fact sheet's worked examples for HEART_BEAT (§2.6) and route data (§2.1), byte for byte where the order is ours.</summary>
public sealed class HeartbeatAndRouteVectorTests
{
    [Fact]
    public async Task Heartbeat_consumer_entry_matches_the_reference_example()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1700000000000));
        var settings = RemotingSettings.From(new ClusterOptions { Protocol = "Remoting", NameServers = "127.0.0.1:9876", Settings = { ["InstanceName"] = "4242#937104216583" } });
        await using var client = new RemotingClient(ClusterRole.Old, settings, time);
        var consumer = new RemotingConsumer(client, new ConsumerSubscription("cg1", "T1") { FilterExpression = "TagA" }, (_, _) => ValueTask.FromResult(ConsumeOutcome.Ack));
        client.Register(consumer);

        using var heartbeat = JsonDocument.Parse(client.BuildHeartbeat());
        var root = heartbeat.RootElement;

        Assert.EndsWith("@4242#937104216583", root.GetProperty("clientID").GetString());
        var entry = Assert.Single(root.GetProperty("consumerDataSet").EnumerateArray());
        // The example's two subVersions differ by 1 ms only because Java read the clock twice; ours share one reading.
        const string expected =
            "{\"consumeFromWhere\":\"CONSUME_FROM_LAST_OFFSET\",\"consumeType\":\"CONSUME_PASSIVELY\",\"groupName\":\"cg1\",\"messageModel\":\"CLUSTERING\"," +
            "\"subscriptionDataSet\":[{\"classFilterMode\":false,\"codeSet\":[2598919],\"expressionType\":\"TAG\",\"subString\":\"TagA\",\"subVersion\":1700000000000,\"tagsSet\":[\"TagA\"],\"topic\":\"T1\"}," +
            "{\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"TAG\",\"subString\":\"*\",\"subVersion\":1700000000000,\"tagsSet\":[],\"topic\":\"%RETRY%cg1\"}],\"unitMode\":false}";
        Assert.Equal(expected, entry.GetRawText());
        Assert.Contains(root.GetProperty("producerDataSet").EnumerateArray(), p => p.GetProperty("groupName").GetString() == "CLIENT_INNER_PRODUCER");
    }

    [Fact]
    public void Standard_route_example_gives_the_publish_and_subscribe_queues()
    {
        const string body = "{\"brokerDatas\":[{\"brokerAddrs\":{\"0\":\"192.168.0.10:10911\"},\"brokerName\":\"broker-a\",\"cluster\":\"DefaultCluster\"}],\"filterServerTable\":{},\"queueDatas\":[{\"brokerName\":\"broker-a\",\"perm\":6,\"readQueueNums\":4,\"topicSysFlag\":0,\"writeQueueNums\":4}]}";

        var route = TopicRoute.Parse("TopicTest", Encoding.UTF8.GetBytes(body));

        Assert.Equal("192.168.0.10:10911", route.MasterAddress("broker-a"));
        Assert.Equal(Enumerable.Range(0, 4).Select(i => new MessageQueue("TopicTest", "broker-a", i)), route.PublishQueues("TopicTest"));
        Assert.Equal(Enumerable.Range(0, 4).Select(i => new MessageQueue("TopicTest", "broker-a", i)), route.SubscribeQueues("TopicTest"));
    }

    [Fact]
    public void Order_topic_conf_replaces_the_publish_list()
    {
        const string body = "{\"brokerDatas\":[{\"brokerAddrs\":{\"0\":\"a:1\"},\"brokerName\":\"brokerA\",\"cluster\":\"C\"},{\"brokerAddrs\":{\"0\":\"b:1\"},\"brokerName\":\"brokerB\",\"cluster\":\"C\"}],\"orderTopicConf\":\"brokerA:4;brokerB:4\",\"queueDatas\":[{\"brokerName\":\"brokerA\",\"perm\":6,\"readQueueNums\":8,\"writeQueueNums\":8}]}";

        var route = TopicRoute.Parse("T", Encoding.UTF8.GetBytes(body));

        Assert.Equal(8, route.PublishQueues("T").Count);
        Assert.Equal(4, route.PublishQueues("T").Count(q => q.BrokerName == "brokerB"));
    }
}
