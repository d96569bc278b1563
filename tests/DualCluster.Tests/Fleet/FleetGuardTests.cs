using DualCluster.Consuming;
using DualCluster.Fleet;
using DualCluster.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Fleet;

/// <summary>Issue 12: the guard on live facts. The monitor is refreshed by hand, the registry lapses on a fake clock.</summary>
public sealed class FleetGuardTests
{
    private static readonly TimeSpan Long = TimeSpan.FromHours(1);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private readonly InMemoryFleetRegistry _registry;

    public FleetGuardTests() => _registry = new InMemoryFleetRegistry(_time);

    private static OutgoingMessage Orders() => new("orders", "x"u8.ToArray());

    private static FleetMember Worker(string id, ClusterSet positioned, ClusterSet reading) =>
        new(id, 1, null, [], [new FleetConsumer("billing", "orders", reading, positioned, ClusterSet.None) { Targets = reading }]);

    private FakeCluster Producer(int producerWeight, bool registry = true, params (string, string?)[] extra) =>
        new(FakeCluster.Settings("order-svc-1", producerWeight, 50, false, extra), b =>
        {
            b.AddProducer();
            if (registry)
            {
                b.UseFleetRegistry(_ => _registry);
            }
        }, _time);

    private static async Task RefreshAsync(FakeCluster cluster) =>
        await cluster.Services.GetRequiredService<FleetMonitor>().RefreshAsync(CancellationToken.None);

    [Fact]
    public async Task A_topic_stays_on_Old_until_every_group_of_it_holds_a_position_on_New_and_the_status_names_the_group()
    {
        await using var cluster = Producer(100);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();
        var status = cluster.Services.GetRequiredService<IDualClusterStatus>();
        await _registry.PublishAsync(Worker("payment-worker-1", positioned: ClusterSet.Old, reading: ClusterSet.Old), Long);
        await RefreshAsync(cluster);

        var held = await producer.SendAsync(Orders());

        Assert.Equal(ClusterRole.Old, held.Cluster);
        Assert.Equal(ClusterRole.New, status.GetStatus().ProducerTarget);
        Assert.Equal(FleetGuardMode.Facts, status.GetStatus().GuardMode);
        Assert.Equal("topic 'orders' stays on Old: waiting for consumer group(s) 'billing' to hold a position on New (a node of the group must read New first)", Assert.Single(status.GetStatus().Waits));

        await _registry.PublishAsync(Worker("payment-worker-1", positioned: ClusterSet.Both, reading: ClusterSet.Both), Long);
        await RefreshAsync(cluster);
        var moved = await producer.SendAsync(Orders());

        Assert.Equal(ClusterRole.New, moved.Cluster);
        Assert.Empty(status.GetStatus().Waits);
        Assert.Single(cluster.Old.Sent);
        Assert.Single(cluster.New.Sent);
    }

    [Fact]
    public async Task While_the_registry_is_unreachable_a_topic_keeps_its_last_proven_target_and_a_new_one_stays_where_consumers_read()
    {
        await using var cluster = Producer(100);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();
        var status = cluster.Services.GetRequiredService<IDualClusterStatus>();
        await _registry.PublishAsync(Worker("payment-worker-1", positioned: ClusterSet.Both, reading: ClusterSet.Both), Long);
        await RefreshAsync(cluster);
        Assert.Equal(ClusterRole.New, (await producer.SendAsync(Orders())).Cluster);

        _registry.Unavailable = true;
        await RefreshAsync(cluster);

        Assert.Equal(ClusterRole.New, (await producer.SendAsync(Orders())).Cluster);
        Assert.Equal(ClusterRole.Old, (await producer.SendAsync(new OutgoingMessage("payments", "x"u8.ToArray()))).Cluster);
        var now = status.GetStatus();
        Assert.Equal(FleetGuardMode.FactsUnavailable, now.GuardMode);
        Assert.Contains(now.Waits, w => w.StartsWith("fleet facts: the fleet registry could not be reached", StringComparison.Ordinal));
        Assert.Contains(now.Waits, w => w.StartsWith("topic 'payments' stays on Old: fleet facts unavailable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_member_whose_heartbeat_lapsed_proves_nothing_and_a_required_group_is_waited_for()
    {
        await using var cluster = Producer(100, registry: true, ("DualCluster:Guard:RequiredGroups:orders:0", "billing"));
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();
        await _registry.PublishAsync(Worker("payment-worker-1", positioned: ClusterSet.Both, reading: ClusterSet.Both), TimeSpan.FromSeconds(15));
        await RefreshAsync(cluster);
        Assert.Equal(ClusterRole.New, (await producer.SendAsync(Orders())).Cluster);

        _time.Advance(TimeSpan.FromSeconds(16));
        await RefreshAsync(cluster);

        Assert.Equal(ClusterRole.Old, (await producer.SendAsync(Orders())).Cluster);
        var fleet = cluster.Services.GetRequiredService<IDualClusterFleet>().GetFleet();
        Assert.Equal(["order-svc-1"], fleet.LiveMembers.Select(m => m.NodeId));
        Assert.Contains("'billing'", Assert.Single(fleet.Waits), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_node_publishes_what_it_wrote_where_and_its_producer_target()
    {
        await using var cluster = Producer(0);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();
        await producer.SendAsync(Orders());

        await RefreshAsync(cluster);

        var self = Assert.Single(await _registry.GetLiveMembersAsync());
        Assert.Equal("order-svc-1", self.NodeId);
        Assert.Equal(ClusterRole.Old, self.ProducerTarget);
        Assert.Equal([new FleetWrite("orders", ClusterRole.Old)], self.Writes);

        _time.Advance(TimeSpan.FromSeconds(31));
        await RefreshAsync(cluster);
        Assert.Empty(Assert.Single(await _registry.GetLiveMembersAsync()).Writes);
    }

    [Fact]
    public async Task Without_a_registry_the_guard_follows_the_configuration_and_says_so()
    {
        await using var cluster = Producer(100, registry: false);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        Assert.Equal(ClusterRole.New, (await producer.SendAsync(Orders())).Cluster);
        Assert.Equal(FleetGuardMode.Configuration, cluster.Services.GetRequiredService<IDualClusterStatus>().GetStatus().GuardMode);
    }

    private FakeCluster ConsumerNode(string node, int producerWeight, int consumerWeight) =>
        new(FakeCluster.Settings(node, producerWeight, consumerWeight), b =>
        {
            b.AddConsumer("billing", "orders", (_, _) => Task.CompletedTask);
            b.UseFleetRegistry(_ => _registry);
        }, _time);

    [Fact]
    public async Task The_last_consumer_stays_on_Old_while_a_live_producer_wrote_the_topic_there_and_says_which()
    {
        await _registry.PublishAsync(new FleetMember("order-svc-1", 1, ClusterRole.New, [new FleetWrite("orders", ClusterRole.Old)], []), Long);
        await using var cluster = ConsumerNode("payment-worker-1", producerWeight: 100, consumerWeight: 100);
        await RefreshAsync(cluster);

        var consumer = await ConsumerHarness.StartAsync(cluster);

        Assert.Equal(ConsumerPhase.Draining, consumer.Status.Phase);
        Assert.Equal("Old: node(s) order-svc-1 sent topic 'orders' to Old within the last 30 s", consumer.Status.DrainReason);
        Assert.Contains(cluster.Services.GetRequiredService<IDualClusterStatus>().GetStatus().Waits, w => w.Contains("order-svc-1 sent topic 'orders' to Old", StringComparison.Ordinal));

        // The producer's next heartbeat shows no more writes to Old: the node leaves after two heartbeats of grace.
        await _registry.PublishAsync(new FleetMember("order-svc-1", 1, ClusterRole.New, [new FleetWrite("orders", ClusterRole.New)], []), Long);
        await RefreshAsync(cluster);
        var graceStarted = ConsumerHarness.NextStatus(consumer, s => s.DrainReason?.Contains("grace period", StringComparison.Ordinal) == true);
        _time.Advance(TimeSpan.FromSeconds(5));
        await graceStarted;
        var left = ConsumerHarness.NextStatus(consumer, s => s.Phase == ConsumerPhase.New);
        _time.Advance(TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Null((await left).DrainReason);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_node_leaves_Old_without_draining_only_while_a_live_peer_stays_there()
    {
        var leaving = ConsumerHarness.NodeInBucket(b => b < 50);
        var staying = ConsumerHarness.NodeInBucket(b => b >= 50);
        await _registry.PublishAsync(
            new FleetMember(staying, 1, null, [], [new FleetConsumer("billing", "orders", ClusterSet.Old, ClusterSet.Old, ClusterSet.None) { Targets = ClusterSet.Old }]),
            TimeSpan.FromSeconds(15));
        await using var cluster = ConsumerNode(leaving, producerWeight: 0, consumerWeight: 50);
        await RefreshAsync(cluster);

        var consumer = await ConsumerHarness.StartAsync(cluster);
        Assert.Equal(ConsumerPhase.New, consumer.Status.Phase);
        await consumer.StopAsync(CancellationToken.None);

        // The peer's heartbeat lapses: nobody stays on Old, so a node starting now reads it (and drains it) too.
        _time.Advance(TimeSpan.FromSeconds(16));
        await using var again = ConsumerNode(leaving, producerWeight: 0, consumerWeight: 50);
        await RefreshAsync(again);
        var second = await ConsumerHarness.StartAsync(again);

        Assert.Equal(ConsumerPhase.Draining, second.Status.Phase);
        Assert.Equal("Old: producers may still write Old", second.Status.DrainReason);
        await second.StopAsync(CancellationToken.None);
    }
}

/// <summary>Issue 12, the single-reload trap when no registry gives facts: one reload may not move readers and writers at once.</summary>
public sealed class SingleReloadWithoutFactsTests
{
    [Fact]
    public async Task Without_a_registry_one_reload_that_starts_New_readers_and_moves_producers_is_rejected()
    {
        await using var cluster = new FakeCluster(FakeCluster.Settings("order-svc-1", 0, 0));
        var routing = cluster.Services.GetRequiredService<DualCluster.Routing.RoutingState>();

        cluster.Configuration.Set(("DualCluster:Producer:NewWeight", "100"), ("DualCluster:Consumer:NewWeight", "50"));

        Assert.False(routing.Reload());
        Assert.Contains(routing.LastRejection!.Errors, e => e.StartsWith("This reload starts consumers reading New and moves producers to New in the same change", StringComparison.Ordinal));

        // In two reloads, consumers first, it is accepted.
        cluster.Configuration.Set(("DualCluster:Producer:NewWeight", "0"), ("DualCluster:Consumer:NewWeight", "50"));
        Assert.True(routing.Reload());
        cluster.Configuration.Set(("DualCluster:Producer:NewWeight", "100"));
        Assert.True(routing.Reload());
        Assert.Equal(ClusterRole.New, routing.Current.Plan.ProducerTarget);
    }

    [Fact]
    public async Task With_a_registry_the_same_reload_is_accepted_because_producers_wait_for_positions()
    {
        await using var cluster = new FakeCluster(FakeCluster.Settings("order-svc-1", 0, 0), b => b.UseFleetRegistry(_ => new InMemoryFleetRegistry()));
        var routing = cluster.Services.GetRequiredService<DualCluster.Routing.RoutingState>();

        cluster.Configuration.Set(("DualCluster:Producer:NewWeight", "100"), ("DualCluster:Consumer:NewWeight", "50"));

        Assert.True(routing.Reload());
    }
}

/// <summary>A container with the fleet parts resolved can be disposed either way (found by the producer benchmark).</summary>
public sealed class FleetDisposalTests
{
    [Fact]
    public async Task A_container_with_a_fleet_registry_disposes_synchronously_and_asynchronously()
    {
        foreach (var synchronous in new[] { true, false })
        {
            var registry = new InMemoryFleetRegistry();
            var cluster = new FakeCluster(FakeCluster.Settings("order-svc-1", 0, 0), b => b.AddProducer().UseFleetRegistry(_ => registry));
            await cluster.Services.GetRequiredService<FleetMonitor>().RefreshAsync(CancellationToken.None);
            await cluster.Services.GetRequiredService<IDualClusterProducer>().SendAsync(new OutgoingMessage("orders", "x"u8.ToArray()));

            if (synchronous)
            {
                cluster.Services.Dispose();
            }
            else
            {
                await cluster.DisposeAsync();
            }
        }
    }
}
