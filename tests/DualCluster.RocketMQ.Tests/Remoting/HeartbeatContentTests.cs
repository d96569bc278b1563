using System.Collections.Concurrent;
using System.Text.Json;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Transport;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>What a HEART_BEAT carries: one entry per group, and at a start only the starting group.</summary>
public sealed class HeartbeatContentTests
{
    [Fact]
    public async Task A_starting_consumer_heartbeats_only_its_own_group_not_every_registration_of_the_client()
    {
        await using var cluster = await StartLoopbackAsync();
        // Periodic heartbeats far away, so every heartbeat seen here comes from a start.
        await using var transport = NewTransport(cluster.NameServerAddress, o =>
        {
            o.Settings["HeartbeatInterval"] = "00:10:00";
            o.Settings["RouteRefreshInterval"] = "00:10:00";
        });
        var heartbeats = new ConcurrentQueue<IReadOnlyList<string>>();
        cluster.HeartbeatReceived += (_, groups) => heartbeats.Enqueue(groups);
        ClusterMessageHandler ack = (_, _) => ValueTask.FromResult(ConsumeOutcome.Ack);
        var consumers = new List<IClusterConsumer>();
        for (var i = 0; i < 3; i++)
        {
            var earlier = transport.CreateConsumer(new ConsumerSubscription(Unique("G"), Unique("T")), ack);
            await earlier.StartAsync();
            consumers.Add(earlier);
        }

        heartbeats.Clear();
        var group = Unique("G");
        var latest = transport.CreateConsumer(new ConsumerSubscription(group, Unique("T")), ack);
        await latest.StartAsync();
        consumers.Add(latest);

        var carried = heartbeats.ToList();
        Assert.NotEmpty(carried);
        Assert.All(carried, groups => Assert.Equal([group], groups));
        foreach (var consumer in consumers)
        {
            await consumer.StopAsync();
        }
    }

    [Fact]
    public async Task Two_consumers_of_one_group_share_one_heartbeat_entry_with_both_topics()
    {
        var settings = RemotingSettings.From(new ClusterOptions { Protocol = "Remoting", NameServers = "127.0.0.1:9876" });
        await using var client = new RemotingClient(ClusterRole.Old, settings);
        ClusterMessageHandler ack = (_, _) => ValueTask.FromResult(ConsumeOutcome.Ack);
        client.Register(new RemotingConsumer(client, new ConsumerSubscription("cg1", "T1"), ack));
        client.Register(new RemotingConsumer(client, new ConsumerSubscription("cg1", "T2") { FilterExpression = "TagA" }, ack));
        client.Register(new RemotingConsumer(client, new ConsumerSubscription("cg2", "T3"), ack));

        using var all = JsonDocument.Parse(client.BuildHeartbeat());
        using var one = JsonDocument.Parse(client.BuildHeartbeat("cg1"));

        Assert.Equal(["cg1", "cg2"], all.RootElement.GetProperty("consumerDataSet").EnumerateArray().Select(e => e.GetProperty("groupName").GetString()).Order(StringComparer.Ordinal));
        var entry = Assert.Single(one.RootElement.GetProperty("consumerDataSet").EnumerateArray());
        var topics = entry.GetProperty("subscriptionDataSet").EnumerateArray().Select(s => s.GetProperty("topic").GetString()).ToList();
        Assert.Equal(3, topics.Count);
        Assert.Equal(["%RETRY%cg1", "T1", "T2"], topics.Order(StringComparer.Ordinal));
    }
}
