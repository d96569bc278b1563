using DualCluster.Routing;
using DualCluster.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Routing;

public sealed class RoutingStateTests
{
    private static string NodeInBucket(Func<int, bool> predicate) =>
        Enumerable.Range(0, 10_000).Select(i => $"node-{i}").First(id => predicate(NodeBucket.Compute(id)));

    [Fact]
    public async Task A_valid_reload_re_routes_the_node()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = new FakeCluster(FakeCluster.Settings(node, 0, 0));
        var routing = cluster.Services.GetRequiredService<RoutingState>();
        Assert.Equal(ClusterSet.Old, routing.Current.Plan.ConsumerTargets);

        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "50"));
        Assert.True(routing.Reload());

        Assert.Equal(ClusterSet.New, routing.Current.Plan.ConsumerTargets);
        Assert.Equal(2, routing.Current.Version);
    }

    [Fact]
    public async Task An_unsafe_reload_is_rejected_logged_and_the_last_routing_kept()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = new FakeCluster(FakeCluster.Settings(node, 0, 0));
        var routing = cluster.Services.GetRequiredService<RoutingState>();
        var before = routing.Current;

        cluster.Configuration.Set(("DualCluster:Producer:NewWeight", "60"));
        Assert.False(routing.Reload());

        Assert.Same(before, routing.Current);
        Assert.Equal(ClusterRole.Old, routing.Current.Plan.ProducerTarget);
        Assert.Equal(1, routing.RejectedCount);
        Assert.Contains(routing.LastRejection!.Errors, e => e.Contains("no consumer reads New", StringComparison.Ordinal));
        var status = cluster.Services.GetRequiredService<IDualClusterStatus>().GetStatus();
        Assert.Equal(1, status.RejectedReloads);
    }

    [Fact]
    public async Task An_unreadable_value_is_rejected_and_the_last_routing_kept()
    {
        await using var cluster = new FakeCluster(FakeCluster.Settings("n1", 0, 0));
        var routing = cluster.Services.GetRequiredService<RoutingState>();
        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "lots"));
        Assert.False(routing.Reload());
        Assert.Equal(1, routing.Current.Version);
    }

    [Fact]
    public async Task A_reload_that_changes_nothing_for_routing_fires_no_change()
    {
        await using var cluster = new FakeCluster(FakeCluster.Settings("n1", 0, 0));
        var routing = cluster.Services.GetRequiredService<RoutingState>();
        var changes = 0;
        routing.Changed += (_, _) => changes++;

        cluster.Configuration.Set(("DualCluster:Idempotency:Lease", "00:02:00"));
        Assert.True(routing.Reload());

        Assert.Equal(0, changes);
        Assert.Equal(1, routing.Current.Version);
        Assert.Equal(TimeSpan.FromMinutes(2), routing.Current.Options.Idempotency.Lease);
    }

    [Fact]
    public async Task Change_events_within_the_debounce_window_apply_once_with_the_last_values()
    {
        var time = new FakeTimeProvider();
        var node = NodeInBucket(b => b < 20);
        var settings = FakeCluster.Settings(node, 0, 0, false, ("DualCluster:ReloadDebounce", "00:00:01"));

        // With a fleet registry, as one reload moving readers and writers at once needs (producers wait for positions).
        await using var cluster = new FakeCluster(settings, b => b.UseFleetRegistry(_ => new DualCluster.Fleet.InMemoryFleetRegistry()), time);
        var routing = cluster.Services.GetRequiredService<RoutingState>();
        var applied = new List<ClusterSet>();
        routing.Changed += (_, next) => applied.Add(next.Plan.ConsumerTargets);

        // A file save fires the change token more than once; the intermediate state is unsafe.
        cluster.Configuration.Set(("DualCluster:Producer:NewWeight", "20"));
        time.Advance(TimeSpan.FromMilliseconds(400));
        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "20"));
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Empty(applied);

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([ClusterSet.New], applied);
        Assert.Equal(ClusterRole.New, routing.Current.Plan.ProducerTarget);
        Assert.Equal(0, routing.RejectedCount);
    }

    [Fact]
    public async Task A_JSON_file_changed_on_disk_flips_routing_through_reloadOnChange()
    {
        var dir = Directory.CreateTempSubdirectory("dualcluster-reload-");
        try
        {
            var node = NodeInBucket(b => b < 40);
            var path = Path.Combine(dir.FullName, "appsettings.json");
            await File.WriteAllTextAsync(path, Json(node, consumerWeight: 0));
            var configuration = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: true).Build();
            var journal = new List<string>();
            var services = new ServiceCollection().AddLogging();
            services.AddDualCluster(configuration.GetSection("DualCluster"))
                .UseTransport(ClusterRole.Old, _ => new FakeTransport(ClusterRole.Old, journal))
                .UseTransport(ClusterRole.New, _ => new FakeTransport(ClusterRole.New, journal));
            await using var provider = services.BuildServiceProvider();
            var routing = provider.GetRequiredService<RoutingState>();
            var changed = new TaskCompletionSource<RoutingSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
            routing.Changed += (_, next) => changed.TrySetResult(next);

            await File.WriteAllTextAsync(path, Json(node, consumerWeight: 40));

            var next = await changed.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(ClusterSet.New, next.Plan.ConsumerTargets);
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        static string Json(string node, int consumerWeight) =>
            $$"""{ "DualCluster": { "NodeId": "{{node}}", "ReloadDebounce": "00:00:00.050", "Consumer": { "NewWeight": {{consumerWeight}} } } }""";
    }

    [Fact]
    public async Task A_configure_callback_that_throws_on_reload_is_a_rejected_reload_not_a_crash()
    {
        var fail = false;
        var node = NodeInBucket(b => b < 50);
        await using var cluster = new FakeCluster(FakeCluster.Settings(node, 0, 0));
        // A user's PostConfigure step that throws something the binder never does.
        var services = new ServiceCollection().AddLogging();
        services.AddDualCluster(cluster.Configuration.Root.GetSection("DualCluster"))
            .UseTransport(ClusterRole.Old, _ => cluster.Old)
            .UseTransport(ClusterRole.New, _ => cluster.New);
        services.PostConfigure<DualClusterOptions>(_ =>
        {
            if (fail)
            {
                throw new KeyNotFoundException("vault lookup failed");
            }
        });
        await using var provider = services.BuildServiceProvider();
        var routing = provider.GetRequiredService<RoutingState>();

        fail = true;
        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "50"));
        var applied = routing.Reload();

        Assert.False(applied);
        Assert.Equal(1, routing.RejectedCount);
        Assert.Equal(ClusterSet.Old, routing.Current.Plan.ConsumerTargets);
        Assert.Contains(routing.LastRejection!.Errors, e => e.Contains("vault lookup failed", StringComparison.Ordinal));
        Assert.Equal(1, provider.GetRequiredService<IDualClusterStatus>().GetStatus().RejectedReloads);

        fail = false;
        Assert.True(routing.Reload());
        Assert.Equal(ClusterSet.New, routing.Current.Plan.ConsumerTargets);
    }

    [Fact]
    public async Task A_change_subscriber_that_throws_neither_undoes_the_change_nor_silences_the_others()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = new FakeCluster(FakeCluster.Settings(node, 0, 0));
        var routing = cluster.Services.GetRequiredService<RoutingState>();
        routing.Changed += (_, _) => throw new InvalidOperationException("subscriber bug");
        RoutingSnapshot? seen = null;
        routing.Changed += (_, next) => seen = next;

        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "50"));
        var applied = routing.Reload();

        Assert.True(applied);
        Assert.Equal(ClusterSet.New, routing.Current.Plan.ConsumerTargets);
        Assert.Same(routing.Current, seen);
        Assert.Equal(0, routing.RejectedCount);
    }

    [Fact]
    public async Task Change_subscribers_run_outside_the_state_lock()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = new FakeCluster(FakeCluster.Settings(node, 0, 0));
        var routing = cluster.Services.GetRequiredService<RoutingState>();
        var reentered = false;
        routing.Changed += (_, _) =>
        {
            // Another thread raising a configuration change takes the state lock; it must not wait for this subscriber.
            reentered = Task.Run(() => cluster.Configuration.Set(("DualCluster:Consumer:DoubleRead", "false"))).Wait(TimeSpan.FromSeconds(20));
        };

        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "50"));
        Assert.True(routing.Reload());

        Assert.True(reentered);
    }
}
