using DualCluster.Consuming;
using DualCluster.Idempotency;
using DualCluster.Routing;
using DualCluster.Tests.Fakes;
using static DualCluster.Tests.Fakes.ConsumerHarness;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace DualCluster.Tests.Consuming;

public sealed class ConsumerFacadeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static FakeCluster Cluster(string node, int producer, int consumer, Func<MessageContext, CancellationToken, Task> handler, TimeProvider? time = null, Action<DualClusterBuilder>? configure = null, bool doubleRead = false, params (string Key, string? Value)[] extra) =>
        new(FakeCluster.Settings(node, producer, consumer, doubleRead, extra), b =>
        {
            b.AddConsumer("order-group", "orders", handler);
            configure?.Invoke(b);
        }, time);

    private static FakeConsumer Running(FakeTransport transport) => transport.Consumers.Single(c => c.Running);

    [Fact]
    public async Task A_consumer_reads_the_clusters_its_routing_targets()
    {
        await using var cluster = Cluster("n1", 0, 0, (_, _) => Task.CompletedTask, doubleRead: true);
        var consumer = await StartAsync(cluster);

        Assert.Equal(ConsumerPhase.Both, consumer.Status.Phase);
        Assert.True(Running(cluster.Old).Running);
        Assert.True(Running(cluster.New).Running);
        await consumer.StopAsync(CancellationToken.None);
        Assert.Equal(["start New", "start Old", "stop New", "stop Old"], cluster.Journal.Order());
    }

    [Fact]
    public async Task Switching_starts_the_new_cluster_before_stopping_the_old_one()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = Cluster(node, 0, 0, (_, _) => Task.CompletedTask);
        var consumer = await StartAsync(cluster);
        Assert.Equal(ConsumerPhase.Old, consumer.Status.Phase);

        var switched = NextStatus(consumer, s => s.Phase == ConsumerPhase.New);
        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "50"));
        cluster.Services.GetRequiredService<RoutingState>().Reload();
        await switched;

        Assert.Equal(["start Old", "start New", "stop Old"], cluster.Journal);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_last_consumers_drain_Old_before_leaving_it()
    {
        var time = new FakeTimeProvider();
        var node = NodeInBucket(b => b >= 50);
        await using var cluster = Cluster(node, 100, 50, (_, _) => Task.CompletedTask, time);
        cluster.Old.Backlog = new BacklogReport { Ready = 5, InFlight = 1, Retry = 0, Delayed = 0 };
        var consumer = await StartAsync(cluster);
        Assert.Equal(ConsumerPhase.Old, consumer.Status.Phase);

        var draining = NextStatus(consumer, s => s.Phase == ConsumerPhase.Draining);
        cluster.Configuration.Set(("DualCluster:Consumer:NewWeight", "100"));
        cluster.Services.GetRequiredService<RoutingState>().Reload();
        var status = await draining;

        Assert.Equal(ClusterSet.Both, status.Reading);
        Assert.Equal(ClusterSet.Old, status.Draining);
        Assert.Equal(5, status.LastBacklog!.Ready);
        Assert.True(cluster.Services.GetRequiredService<IDualClusterStatus>().GetStatus().IsDraining);
        Assert.DoesNotContain("stop Old", cluster.Journal);

        cluster.Old.Backlog = new BacklogReport { Ready = 0, InFlight = 0, Retry = 0, Delayed = 0 };
        var left = NextStatus(consumer, s => s.Phase == ConsumerPhase.New);
        time.Advance(TimeSpan.FromSeconds(5));
        await left;

        Assert.Equal(["start Old", "start New", "probe Old", "probe Old", "stop Old"], cluster.Journal);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task An_unknown_backlog_counts_as_not_drained()
    {
        var time = new FakeTimeProvider();
        var node = NodeInBucket(b => b >= 50);
        await using var cluster = Cluster(node, 100, 100, (_, _) => Task.CompletedTask, time);
        cluster.Old.Backlog = BacklogReport.Unknown("this transport cannot see a backlog");

        var consumer = await StartAsync(cluster);

        Assert.Equal(ConsumerPhase.Draining, consumer.Status.Phase);
        Assert.Equal(ClusterSet.Both, consumer.Status.Reading);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_node_started_after_the_migration_with_Old_drained_never_reads_Old()
    {
        await using var cluster = Cluster("n1", 100, 100, (_, _) => Task.CompletedTask);
        var consumer = await StartAsync(cluster);

        Assert.Equal(ConsumerPhase.New, consumer.Status.Phase);
        Assert.Equal(["start New", "probe Old"], cluster.Journal);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_handled_message_is_acked_and_a_redelivered_copy_is_skipped()
    {
        var handled = 0;
        await using var cluster = Cluster("n1", 0, 0, (_, _) => { Interlocked.Increment(ref handled); return Task.CompletedTask; }, doubleRead: true);
        var consumer = await StartAsync(cluster);

        Assert.Equal(ConsumeOutcome.Ack, await Running(cluster.Old).DeliverAsync("a", "key-1"));
        Assert.Equal(ConsumeOutcome.Ack, await Running(cluster.Old).DeliverAsync("a", "key-1", attempt: 2));
        Assert.Equal(ConsumeOutcome.Ack, await Running(cluster.New).DeliverAsync("a", "key-1"));

        Assert.Equal(1, handled);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_failing_handler_is_not_acked_and_its_redelivery_runs_again()
    {
        var calls = 0;
        await using var cluster = Cluster("n1", 0, 0, (_, _) => Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("db down") : Task.CompletedTask);
        var consumer = await StartAsync(cluster);

        var first = await Running(cluster.Old).DeliverAsync("a", "key-1");
        var second = await Running(cluster.Old).DeliverAsync("a", "key-1", attempt: 2);

        Assert.False(first.Acknowledge);
        Assert.True(second.Acknowledge);
        Assert.Equal(2, calls);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_key_held_by_another_node_is_left_for_redelivery()
    {
        var store = new InMemoryIdempotencyStore();
        var claim = await store.TryClaimAsync("order-group:key-1", TimeSpan.FromMinutes(5));
        Assert.Equal(ClaimStatus.Acquired, claim.Status);
        var handled = 0;
        await using var cluster = Cluster("n1", 0, 0, (_, _) => { handled++; return Task.CompletedTask; }, configure: b => b.UseIdempotencyStore(_ => store));
        var consumer = await StartAsync(cluster);

        var outcome = await Running(cluster.Old).DeliverAsync("a", "key-1");

        Assert.False(outcome.Acknowledge);
        Assert.Equal(TimeSpan.FromSeconds(5), outcome.RetryDelay);
        Assert.Equal(0, handled);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task An_unreachable_store_acks_nothing_and_runs_no_handler()
    {
        var store = new Mock<IIdempotencyStore>();
        store.Setup(s => s.TryClaimAsync(It.IsAny<string>(), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new TimeoutException("store timed out"));
        var handled = 0;
        await using var cluster = Cluster("n1", 0, 0, (_, _) => { handled++; return Task.CompletedTask; }, configure: b => b.UseIdempotencyStore(_ => store.Object), extra: ("DualCluster:Idempotency:StoreOutageHold", "00:00:00"));
        var consumer = await StartAsync(cluster);

        var outcome = await Running(cluster.Old).DeliverAsync("a", "key-1");

        Assert.False(outcome.Acknowledge);
        Assert.Equal(0, handled);
        store.Verify(s => s.CompleteAsync(It.IsAny<string>(), It.IsAny<long>(), It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()), Times.Never);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Concurrent_duplicate_deliveries_on_two_nodes_sharing_a_store_run_the_handler_once()
    {
        var store = new InMemoryIdempotencyStore();
        var handled = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<MessageContext, CancellationToken, Task> handler = async (_, _) =>
        {
            Interlocked.Increment(ref handled);
            await release.Task;
        };
        await using var nodeA = Cluster("a", 0, 0, handler, configure: b => b.UseIdempotencyStore(_ => store), doubleRead: true);
        await using var nodeB = Cluster("b", 0, 0, handler, configure: b => b.UseIdempotencyStore(_ => store), doubleRead: true);
        var consumerA = await StartAsync(nodeA);
        var consumerB = await StartAsync(nodeB);

        // The same message arrives through Old on node A and (double write) through New on node B, at once.
        var onA = Running(nodeA.Old).DeliverAsync("pay", "order-7").AsTask();
        var onB = Running(nodeB.New).DeliverAsync("pay", "order-7").AsTask();
        var first = await Task.WhenAny(onA, onB);
        var held = await first;
        release.SetResult();
        await Task.WhenAll(onA, onB);

        Assert.Equal(1, handled);
        Assert.False(held.Acknowledge); // the loser is told to come back later, not acked
        var retried = first == onA ? Running(nodeA.Old) : Running(nodeB.New);
        Assert.Equal(ConsumeOutcome.Ack, await retried.DeliverAsync("pay", "order-7", attempt: 2));
        Assert.Equal(1, handled);
        await consumerA.StopAsync(CancellationToken.None);
        await consumerB.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task With_payload_validation_a_reused_key_with_another_body_is_reported_and_not_run_again()
    {
        var handled = 0;
        var mismatches = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Name == "dualcluster.idempotency.payload_mismatches")
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, v, _, _) => Interlocked.Add(ref mismatches, v));
        listener.Start();
        await using var cluster = new FakeCluster(
            FakeCluster.Settings("n1", 0, 0, false, ("DualCluster:Idempotency:ValidatePayload", "true")),
            b => b.AddConsumer("order-group", "orders", (_, _) => { handled++; return Task.CompletedTask; }));
        var consumer = await StartAsync(cluster);

        Assert.True((await Running(cluster.Old).DeliverAsync("amount=10", "order-9")).Acknowledge);
        Assert.True((await Running(cluster.Old).DeliverAsync("amount=10", "order-9")).Acknowledge);
        Assert.Equal(0, Interlocked.Read(ref mismatches));
        Assert.True((await Running(cluster.Old).DeliverAsync("amount=99", "order-9")).Acknowledge);

        Assert.Equal(1, handled);
        Assert.Equal(1, Interlocked.Read(ref mismatches));
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Without_a_producer_key_the_key_selector_decides_duplicates()
    {
        var handled = 0;
        await using var cluster = new FakeCluster(FakeCluster.Settings("n1", 0, 0), b => b.AddConsumer(
            "order-group",
            "orders",
            (_, _) => { handled++; return Task.CompletedTask; },
            o => o.KeySelector = m => System.Text.Encoding.UTF8.GetString(m.Body.Span)));
        var consumer = await StartAsync(cluster);

        await Running(cluster.Old).DeliverAsync("order-1");
        await Running(cluster.Old).DeliverAsync("order-1");
        await Running(cluster.Old).DeliverAsync("order-2");

        Assert.Equal(2, handled);
        await consumer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_host_starts_and_stops_registered_consumers()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var journal = new List<string>();
        var old = new FakeTransport(ClusterRole.Old, journal);
        builder.Services.AddDualCluster(o => o.NodeId = "n1")
            .UseTransport(ClusterRole.Old, _ => old)
            .UseTransport(ClusterRole.New, _ => new FakeTransport(ClusterRole.New, journal))
            .AddConsumer<CountingHandler>("order-group", "orders");
        builder.Services.AddSingleton<Counter>();
        using var host = builder.Build();

        await host.StartAsync();
        Assert.Equal(ConsumeOutcome.Ack, await Running(old).DeliverAsync("x", "k"));
        Assert.Equal(1, host.Services.GetRequiredService<Counter>().Count);
        var status = host.Services.GetRequiredService<IDualClusterStatus>().GetStatus();
        Assert.Equal(ConsumerPhase.Old, Assert.Single(status.Consumers).Phase);
        await host.StopAsync();

        Assert.Equal(["start Old", "stop Old"], journal);
    }

    internal sealed class Counter
    {
        public int Count;
    }

    internal sealed class CountingHandler(Counter counter) : IMessageHandler
    {
        public Task HandleAsync(MessageContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref counter.Count);
            return Task.CompletedTask;
        }
    }
}
