using DualCluster.Consuming;
using DualCluster.Idempotency;
using DualCluster.Routing;
using DualCluster.Tests.Fakes;
using static DualCluster.Tests.Fakes.ConsumerHarness;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace DualCluster.Tests.Consuming;

/// <summary>The consumer facade's stop contract and the resilience of its reconcile loop (issue 13, findings 1 and 2).</summary>
public sealed class StopContractTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static FakeCluster Cluster(string node, int consumer, Func<MessageContext, CancellationToken, Task> handler, bool doubleRead = false) =>
        new(FakeCluster.Settings(node, 0, consumer, doubleRead), b => b.AddConsumer("order-group", "orders", handler));

    private static FakeConsumer Running(FakeTransport transport) => transport.Consumers.Single(c => c.Running);

    private static void Reload(FakeCluster cluster, params (string Key, string? Value)[] changes)
    {
        cluster.Configuration.Set(changes);
        Assert.True(cluster.Services.GetRequiredService<RoutingState>().Reload());
    }

    [Fact]
    public async Task A_host_stop_during_a_switch_lets_the_leaving_cluster_stop_gracefully()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = Cluster(node, 0, (_, _) => Task.CompletedTask);
        var leaving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finishLeaving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var forcedSeen = (bool?)null;
        cluster.Old.OnConsumerStop = async ct =>
        {
            leaving.TrySetResult();
            await finishLeaving.Task;
            forcedSeen = ct.IsCancellationRequested;
        };
        var consumer = await StartAsync(cluster);

        // Others keep reading Old (weight 50), so the switch stops Old without draining: the loop is inside Old's stop.
        Reload(cluster, ("DualCluster:Consumer:NewWeight", "50"));
        await leaving.Task.WaitAsync(Wait);
        var stop = consumer.StopAsync(CancellationToken.None);
        finishLeaving.SetResult();
        await stop.WaitAsync(Wait);

        Assert.False(forcedSeen, "the switch's stop of Old was turned into a forced stop by the host's stop");
        Assert.Equal(ConsumerPhase.Stopped, consumer.Status.Phase);
    }

    [Fact]
    public async Task Stop_returns_only_after_handler_runs_in_flight_have_completed_their_claims()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var cluster = Cluster("n1", 0, async (_, _) =>
        {
            entered.TrySetResult();
            await release.Task;
        });
        var store = (InMemoryIdempotencyStore)cluster.Services.GetRequiredService<IIdempotencyStore>();
        var consumer = await StartAsync(cluster);
        var delivery = Running(cluster.Old).DeliverAsync("a", "key-1").AsTask();
        await entered.Task.WaitAsync(Wait);

        // The fake transport's stop, like a forced one, does not wait for the handler; the facade must.
        var stop = consumer.StopAsync(CancellationToken.None);
        var stateWhenStopped = stop.ContinueWith(_ => store.TryClaimAsync("order-group:key-1", TimeSpan.FromMinutes(5)).AsTask(), TaskScheduler.Default).Unwrap();
        await Task.WhenAny(stop, Task.Delay(TimeSpan.FromMilliseconds(500)));
        release.SetResult();

        Assert.Equal(ConsumeOutcome.Ack, await delivery.WaitAsync(Wait));
        Assert.Equal(ClaimStatus.Completed, (await stateWhenStopped.WaitAsync(Wait)).Status);
    }

    [Fact]
    public async Task A_failing_stop_of_a_cluster_does_not_end_reconciliation()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = Cluster(node, 0, (_, _) => Task.CompletedTask);
        cluster.Old.OnConsumerStop = _ => throw new InvalidOperationException("connection reset during stop");
        var consumer = await StartAsync(cluster);

        var onNew = NextStatus(consumer, s => s.Phase == ConsumerPhase.New);
        Reload(cluster, ("DualCluster:Consumer:NewWeight", "50"));
        await onNew;

        // The loop is still alive: the next change is applied.
        var both = NextStatus(consumer, s => s.Phase == ConsumerPhase.Both);
        Reload(cluster, ("DualCluster:Consumer:DoubleRead", "true"));
        await both;

        await consumer.StopAsync(CancellationToken.None);
        Assert.Equal(ConsumerPhase.Stopped, consumer.Status.Phase);
        Assert.DoesNotContain(cluster.Old.Consumers.Concat(cluster.New.Consumers), c => c.Running);
    }

    [Fact]
    public async Task A_status_subscriber_that_throws_does_not_end_reconciliation()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = Cluster(node, 0, (_, _) => Task.CompletedTask);
        var consumer = await StartAsync(cluster);
        consumer.Reconciled += _ => throw new InvalidOperationException("dashboard bug");

        var onNew = NextStatus(consumer, s => s.Phase == ConsumerPhase.New);
        Reload(cluster, ("DualCluster:Consumer:NewWeight", "50"));
        await onNew;
        var both = NextStatus(consumer, s => s.Phase == ConsumerPhase.Both);
        Reload(cluster, ("DualCluster:Consumer:DoubleRead", "true"));
        await both;

        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stop_stops_every_cluster_even_when_one_stop_throws()
    {
        await using var cluster = Cluster("n1", 0, (_, _) => Task.CompletedTask, doubleRead: true);
        cluster.Old.OnConsumerStop = _ => throw new InvalidOperationException("broker gone");
        var consumer = await StartAsync(cluster);

        await consumer.StopAsync(CancellationToken.None);

        Assert.DoesNotContain(cluster.Old.Consumers.Concat(cluster.New.Consumers), c => c.Running);
        Assert.Equal(ConsumerPhase.Stopped, consumer.Status.Phase);
    }
}

/// <summary>The status says when the fleet needs a fleet-wide idempotency store (issue 13, finding 8).</summary>
public sealed class FleetStoreWarningTests
{
    [Fact]
    public async Task The_default_node_local_store_is_flagged_once_producers_may_write_both_clusters()
    {
        await using var cluster = new FakeCluster(FakeCluster.Settings("n1", 50, 0, doubleRead: true), b => b.AddProducer());
        var status = cluster.Services.GetRequiredService<IDualClusterStatus>().GetStatus();

        var warning = Assert.Single(status.Warnings);
        Assert.Contains("fleet-wide store", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_warning_while_every_producer_writes_one_cluster_or_with_a_store_the_application_chose()
    {
        await using (var allOld = new FakeCluster(FakeCluster.Settings("n1", 0, 0, doubleRead: true), b => b.AddProducer()))
        {
            Assert.Empty(allOld.Services.GetRequiredService<IDualClusterStatus>().GetStatus().Warnings);
        }

        var shared = new InMemoryIdempotencyStore();
        await using var chosen = new FakeCluster(FakeCluster.Settings("n1", 50, 0, doubleRead: true), b => b.AddProducer().UseIdempotencyStore(_ => shared));
        Assert.Empty(chosen.Services.GetRequiredService<IDualClusterStatus>().GetStatus().Warnings);
    }
}

/// <summary>The consumers of one host start and stop together, not one after another (issue 13).</summary>
public sealed class ConsumerHostTests
{
    [Fact]
    public async Task The_consumers_of_one_host_start_concurrently()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings { DisableDefaults = true });
        var journal = new List<string>();
        var old = new FakeTransport(ClusterRole.Old, journal);
        var started = 0;
        var allStarting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Each start waits until all three have begun: started one after another, the first would never return.
        old.OnConsumerStart = async ct =>
        {
            if (Interlocked.Increment(ref started) == 3)
            {
                allStarting.TrySetResult();
            }

            await allStarting.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        };
        builder.Services.AddDualCluster(o => o.NodeId = "n1")
            .UseTransport(ClusterRole.Old, _ => old)
            .UseTransport(ClusterRole.New, _ => new FakeTransport(ClusterRole.New, journal))
            .AddConsumer("g1", "orders", (_, _) => Task.CompletedTask)
            .AddConsumer("g2", "orders", (_, _) => Task.CompletedTask)
            .AddConsumer("g3", "payments", (_, _) => Task.CompletedTask);
        using var host = builder.Build();

        await host.StartAsync();

        Assert.Equal(3, host.Services.GetRequiredService<IDualClusterStatus>().GetStatus().Consumers.Count(c => c.Phase == ConsumerPhase.Old));
        await host.StopAsync();
        Assert.DoesNotContain(old.Consumers, c => c.Running);
    }
}
