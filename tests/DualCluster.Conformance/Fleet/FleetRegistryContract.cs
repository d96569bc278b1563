using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DualCluster.Fleet;

namespace DualCluster.Conformance.Fleet;

/// <summary>
/// The behaviour every <see cref="IFleetRegistry"/> shares. Derive one small class per registry. Lapse tests publish
/// with <see cref="ShortTimeToLive"/>, call <see cref="LapseAsync"/> (a registry on a fake clock advances it; one on a
/// server's clock returns at once) and then poll with a bounded deadline until the registry shows the lapse: the
/// registry's clock decides, never the test's. Tests use node ids unique to the test, since a registry may be shared
/// by the tests of a class.
/// </summary>
public abstract class FleetRegistryContract : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly List<object> _owned = [];
    private readonly string _test = Guid.NewGuid().ToString("N")[..12];

    /// <summary>The registry under test.</summary>
    protected abstract IFleetRegistry Registry { get; }

    /// <summary>A time to live that lapse tests wait out.</summary>
    protected virtual TimeSpan ShortTimeToLive => TimeSpan.FromMilliseconds(500);

    /// <summary>A time to live no test outlives.</summary>
    protected virtual TimeSpan LongTimeToLive => TimeSpan.FromMinutes(10);

    /// <summary>Another registry on the same store under another namespace (key prefix, table), empty so far.</summary>
    protected abstract Task<IFleetRegistry> CreateRegistryElsewhereAsync();

    /// <summary>A registry whose store cannot be reached (a closed loopback port, short timeouts).</summary>
    protected abstract Task<IFleetRegistry> CreateUnreachableRegistryAsync();

    /// <summary>Makes <paramref name="duration"/> pass on the registry's clock: a fake clock is advanced; a server's needs nothing.</summary>
    protected abstract Task LapseAsync(TimeSpan duration);

    /// <summary>
    /// Writes, as <paramref name="nodeId"/>'s live record, text that is not a fleet record (as a foreign or broken writer
    /// would). Returns false when the registry holds no raw text (in memory): the test then has nothing to check.
    /// </summary>
    protected virtual Task<bool> PlantMalformedRecordAsync(string nodeId) => Task.FromResult(false);

    /// <summary>Disposes <paramref name="resource"/> (<see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>) after the test.</summary>
    protected T Own<T>(T resource)
        where T : notnull
    {
        _owned.Add(resource);
        return resource;
    }

    /// <summary>A loopback port nothing listens on (free a moment ago), for unreachable registries.</summary>
    protected static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A node id no other test uses; ids of one test share a prefix.</summary>
    protected string Node(string name) => $"{_test}-{name}";

    /// <summary>A member with a write and a consumer, or with <paramref name="version"/> as its routing version.</summary>
    protected static FleetMember Member(string nodeId, long version = 1) =>
        new(nodeId, version, ClusterRole.Old, [new FleetWrite("orders", ClusterRole.Old)], [new FleetConsumer("billing", "orders", ClusterSet.Old, ClusterSet.Old, ClusterSet.None)]);

    /// <summary>This test's members among <paramref name="members"/>.</summary>
    protected IReadOnlyList<FleetMember> Mine(IReadOnlyList<FleetMember> members) =>
        [.. members.Where(m => m.NodeId.StartsWith(_test + "-", StringComparison.Ordinal))];

    /// <summary>Reads the live members until <paramref name="done"/> holds, or fails after a generous deadline.</summary>
    protected async Task<IReadOnlyList<FleetMember>> LiveMembersEventuallyAsync(IFleetRegistry registry, Func<IReadOnlyList<FleetMember>, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var members = await registry.GetLiveMembersAsync();
            if (done(members))
            {
                return members;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {Deadline} waiting until {what}; live: {string.Join(", ", Mine(members).Select(m => m.NodeId))}.");
            }

            await Task.Delay(25);
        }
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            switch (_owned[i])
            {
                case IAsyncDisposable resource:
                    await resource.DisposeAsync();
                    break;
                case IDisposable resource:
                    resource.Dispose();
                    break;
            }
        }
    }

    [Fact]
    public async Task Published_members_read_back_with_every_field()
    {
        var full = new FleetMember(
            Node("full"),
            long.MaxValue,
            ProducerTarget: null,
            [new FleetWrite("orders", ClusterRole.Old), new FleetWrite("payments", ClusterRole.New)],
            [
                new FleetConsumer("billing", "orders", ClusterSet.Both, ClusterSet.Old, ClusterSet.None) { Targets = ClusterSet.New },
                new FleetConsumer("audit", "payments", ClusterSet.New, ClusterSet.Both, ClusterSet.Old) { Targets = ClusterSet.Both },
                new FleetConsumer("idle", "payments", ClusterSet.None, ClusterSet.None, ClusterSet.New),
            ]);
        var bare = new FleetMember(Node("bare"), 0, ClusterRole.New, [], []);

        await Registry.PublishAsync(full, LongTimeToLive);
        await Registry.PublishAsync(bare, LongTimeToLive);

        var mine = Mine(await Registry.GetLiveMembersAsync());
        Assert.Equal(2, mine.Count);
        AssertSameMember(bare, mine.Single(m => m.NodeId == bare.NodeId));
        AssertSameMember(full, mine.Single(m => m.NodeId == full.NodeId));
    }

    [Fact]
    public async Task Publishing_again_replaces_the_record()
    {
        var node = Node("replaced");
        await Registry.PublishAsync(Member(node, version: 1), LongTimeToLive);
        var second = new FleetMember(node, 2, ClusterRole.New, [new FleetWrite("orders", ClusterRole.New)], []);

        await Registry.PublishAsync(second, LongTimeToLive);

        AssertSameMember(second, Assert.Single(Mine(await Registry.GetLiveMembersAsync())));
    }

    [Fact]
    public async Task Record_lapses_after_its_time_to_live()
    {
        var node = Node("lapsing");
        var started = Stopwatch.GetTimestamp();
        await Registry.PublishAsync(Member(node), ShortTimeToLive);
        var before = await Registry.GetLiveMembersAsync();

        // On a busy machine the read may come after the time to live; only a read within it must see the node.
        if (Stopwatch.GetElapsedTime(started) < ShortTimeToLive)
        {
            Assert.Contains(before, m => m.NodeId == node);
        }

        await LapseAsync(ShortTimeToLive + TimeSpan.FromMilliseconds(1));
        await LiveMembersEventuallyAsync(Registry, ms => ms.All(m => m.NodeId != node), "the record lapsed");
        Assert.Empty(Mine(await Registry.GetLiveMembersAsync()));
    }

    [Fact]
    public async Task Publishing_again_before_the_time_to_live_keeps_the_member_alive()
    {
        var node = Node("kept");
        var marker = Node("marker");
        await Registry.PublishAsync(Member(node, version: 1), ShortTimeToLive);
        await Registry.PublishAsync(Member(marker), ShortTimeToLive);
        await Registry.PublishAsync(Member(node, version: 2), LongTimeToLive);

        // The marker was published after the node's first record: once it lapsed, so would have that record.
        await LapseAsync(ShortTimeToLive + TimeSpan.FromMilliseconds(1));
        var live = await LiveMembersEventuallyAsync(Registry, ms => ms.All(m => m.NodeId != marker), "the marker lapsed");

        var kept = Assert.Single(Mine(live));
        Assert.Equal(node, kept.NodeId);
        Assert.Equal(2, kept.RoutingVersion);
    }

    [Fact]
    public async Task Removed_member_is_gone_at_once_and_the_others_stay()
    {
        var leaving = Node("leaving");
        var staying = Node("staying");
        await Registry.PublishAsync(Member(leaving), LongTimeToLive);
        await Registry.PublishAsync(Member(staying), LongTimeToLive);

        await Registry.RemoveAsync(leaving);

        Assert.Equal([staying], Mine(await Registry.GetLiveMembersAsync()).Select(m => m.NodeId));
    }

    [Fact]
    public async Task Removing_an_absent_node_does_nothing()
    {
        var present = Node("present");
        await Registry.PublishAsync(Member(present), LongTimeToLive);

        await Registry.RemoveAsync(Node("never-published"));
        await Registry.RemoveAsync(present);
        await Registry.RemoveAsync(present);

        Assert.Empty(Mine(await Registry.GetLiveMembersAsync()));
    }

    [Fact]
    public async Task Members_come_ordered_by_node_id_in_ordinal_order()
    {
        // Ordinal, not culture order: digits before upper case before lower case, '-' before '_'.
        string[] names = ["b", "a_1", "Z", "9", "a-1", "B", "10", "a"];
        foreach (var name in names)
        {
            await Registry.PublishAsync(Member(Node(name)), LongTimeToLive);
        }

        var members = await Registry.GetLiveMembersAsync();

        var ids = members.Select(m => m.NodeId).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Equal(["10", "9", "B", "Z", "a", "a-1", "a_1", "b"], Mine(members).Select(m => m.NodeId[(Node(string.Empty).Length)..]));
    }

    [Fact]
    public async Task Registries_in_different_namespaces_do_not_see_each_other()
    {
        var elsewhere = await CreateRegistryElsewhereAsync();
        var here = Node("here");
        var there = Node("there");

        await Registry.PublishAsync(Member(here), LongTimeToLive);
        await elsewhere.PublishAsync(Member(there), LongTimeToLive);
        await elsewhere.RemoveAsync(here);

        Assert.Equal([here], Mine(await Registry.GetLiveMembersAsync()).Select(m => m.NodeId));
        Assert.Equal([there], (await elsewhere.GetLiveMembersAsync()).Select(m => m.NodeId));
    }

    [Fact]
    public async Task Nodes_publishing_concurrently_all_appear()
    {
        const int nodes = 20;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var publishers = Enumerable.Range(0, nodes).Select(i => Task.Run(async () =>
        {
            await start.Task;
            await Registry.PublishAsync(Member(Node($"n{i:D2}"), version: i), LongTimeToLive);
        })).ToArray();

        start.SetResult();
        await Task.WhenAll(publishers).WaitAsync(Deadline);

        var mine = Mine(await Registry.GetLiveMembersAsync());
        Assert.Equal(Enumerable.Range(0, nodes).Select(i => (Node($"n{i:D2}"), (long)i)), mine.Select(m => (m.NodeId, m.RoutingVersion)));
    }

    [Fact]
    public async Task Malformed_record_is_skipped_and_the_others_still_read()
    {
        var good = Node("good");
        await Registry.PublishAsync(Member(good), LongTimeToLive);
        if (!await PlantMalformedRecordAsync(Node("malformed")))
        {
            return;
        }

        Assert.Equal([good], Mine(await Registry.GetLiveMembersAsync()).Select(m => m.NodeId));
    }

    [Fact]
    public async Task Time_to_live_must_be_positive()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Registry.PublishAsync(Member(Node("zero")), TimeSpan.Zero).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Registry.PublishAsync(Member(Node("negative")), TimeSpan.FromSeconds(-1)).AsTask());
        Assert.Empty(Mine(await Registry.GetLiveMembersAsync()));
    }

    [Fact]
    public async Task Unreachable_store_fails_every_call_with_FleetRegistryUnavailableException_and_never_hangs()
    {
        var registry = await CreateUnreachableRegistryAsync();

        var failures = new[]
        {
            await Assert.ThrowsAsync<FleetRegistryUnavailableException>(() => registry.PublishAsync(Member(Node("down")), LongTimeToLive).AsTask().WaitAsync(Deadline)),
            await Assert.ThrowsAsync<FleetRegistryUnavailableException>(() => registry.GetLiveMembersAsync().AsTask().WaitAsync(Deadline)),
            await Assert.ThrowsAsync<FleetRegistryUnavailableException>(() => registry.RemoveAsync(Node("down")).AsTask().WaitAsync(Deadline)),
        };

        Assert.All(failures, f => Assert.False(string.IsNullOrWhiteSpace(f.Message)));
    }

    private static void AssertSameMember(FleetMember expected, FleetMember actual)
    {
        Assert.Equal(expected.NodeId, actual.NodeId);
        Assert.Equal(expected.RoutingVersion, actual.RoutingVersion);
        Assert.Equal(expected.ProducerTarget, actual.ProducerTarget);
        Assert.Equal(expected.Writes, actual.Writes);
        Assert.Equal(expected.Consumers, actual.Consumers);
    }
}
