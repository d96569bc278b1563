using System.Buffers.Binary;
using System.Collections.Concurrent;
using DualCluster.Routing;
using DualCluster.Testing;
using DualCluster.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DualCluster.Tests.EndToEnd;

/// <summary>The facades over two in-memory brokers, as an application uses them: routing changes under traffic.</summary>
public sealed class InMemoryEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string NodeInBucket(Func<int, bool> predicate) =>
        Enumerable.Range(0, 10_000).Select(i => $"node-{i}").First(id => predicate(NodeBucket.Compute(id)));

    private sealed class Node : IAsyncDisposable
    {
        public Node(string nodeId, InMemoryBroker old, InMemoryBroker @new, Dictionary<string, string?> settings, Action<DualClusterBuilder> configure)
        {
            Configuration = new ReloadableConfiguration(settings);
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddConfiguration(Configuration.Root);
            var dual = builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
                .UseInMemoryBrokers(old, @new, new InMemoryTransportOptions { RetryBackoff = _ => TimeSpan.FromMilliseconds(50), PollTimeout = TimeSpan.FromMilliseconds(200) });
            configure(dual);
            Host = builder.Build();
            NodeId = nodeId;
        }

        public string NodeId { get; }

        public ReloadableConfiguration Configuration { get; }

        public IHost Host { get; }

        public T Get<T>() where T : notnull => Host.Services.GetRequiredService<T>();

        public async ValueTask DisposeAsync()
        {
            await Host.StopAsync();
            Host.Dispose();
        }
    }

    private static Dictionary<string, string?> Settings(string node, int producer, int consumer, bool doubleRead, params (string, string?)[] extra)
    {
        var settings = FakeCluster.Settings(node, producer, consumer, doubleRead, extra);
        settings["DualCluster:Consumer:DrainCheckInterval"] = "00:00:00.100";
        return settings;
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        // Polls an observable condition (broker counters, node status) with a bound; never a guess at timing.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > Wait)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task A_producer_switch_in_the_middle_of_a_stream_loses_nothing_and_duplicates_nothing()
    {
        var old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" });
        var @new = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" });
        var effects = new ConcurrentDictionary<long, int>();
        var node = NodeInBucket(b => b < 50);
        await using var app = new Node(node, old, @new, Settings(node, 0, 0, doubleRead: true), b => b
            .AddProducer()
            .AddConsumer("e2e-switch", "e2e-switch", (ctx, _) =>
            {
                effects.AddOrUpdate(BinaryPrimitives.ReadInt64LittleEndian(ctx.Message.Body.Span), 1, (_, n) => n + 1);
                return Task.CompletedTask;
            }));
        await app.Host.StartAsync();
        var producer = app.Get<IDualClusterProducer>();
        var routing = app.Get<RoutingState>();
        var perCluster = new ConcurrentDictionary<ClusterRole, int>();

        const int Total = 4_000;
        var sends = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (long i = worker; i < Total; i += 4)
            {
                if (i == Total / 2)
                {
                    app.Configuration.Set(("DualCluster:Producer:NewWeight", "50"));
                    routing.Reload();
                }

                var body = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(body, i);
                var result = await producer.SendAsync(new OutgoingMessage("e2e-switch", body));
                perCluster.AddOrUpdate(result.Cluster, 1, (_, n) => n + 1);
            }
        })).ToArray();
        await Task.WhenAll(sends).WaitAsync(Wait);
        await WaitUntil(() => effects.Count == Total, "every message was handled");

        Assert.True(perCluster.GetValueOrDefault(ClusterRole.Old) > 0);
        Assert.True(perCluster.GetValueOrDefault(ClusterRole.New) > 0);
        Assert.All(effects.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task A_poison_message_ends_in_the_dead_letter_queue_after_the_configured_attempts()
    {
        var old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" });
        var @new = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" });
        var attempts = 0;
        var handledGood = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = new Node("n1", old, @new, Settings("n1", 0, 0, doubleRead: false), b => b
            .AddProducer()
            .AddConsumer("e2e-poison", "e2e-poison", (ctx, _) =>
            {
                if (ctx.Message.Tag == "poison")
                {
                    Interlocked.Increment(ref attempts);
                    throw new InvalidOperationException("cannot parse");
                }

                handledGood.TrySetResult();
                return Task.CompletedTask;
            }, o => o.MaxDeliveryAttempts = 3));
        await app.Host.StartAsync();
        var producer = app.Get<IDualClusterProducer>();

        await producer.SendAsync(new OutgoingMessage("e2e-poison", new byte[] { 1 }) { Tag = "poison" });
        await producer.SendAsync(new OutgoingMessage("e2e-poison", new byte[] { 2 }) { Tag = "good" });
        await handledGood.Task.WaitAsync(Wait);
        await WaitUntil(() => old.GetDeadLetters("e2e-poison").Count == 1, "the poison message was dead-lettered");

        Assert.Equal(3, Volatile.Read(ref attempts));
        Assert.Equal("poison", old.GetDeadLetters("e2e-poison")[0].Tag);
        Assert.True(old.GetBacklog("e2e-poison", "e2e-poison").IsDrained);
    }

    [Fact]
    public async Task The_last_consumer_drains_Old_before_leaving_it()
    {
        var old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" });
        var @new = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" });
        var handled = new ConcurrentDictionary<string, ClusterRole>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var node = NodeInBucket(b => b >= 50);
        await using var app = new Node(node, old, @new, Settings(node, 100, 50, doubleRead: false), b => b
            .AddConsumer("e2e-drain", "e2e-drain", async (ctx, ct) =>
            {
                await gate.Task.WaitAsync(ct);
                handled[System.Text.Encoding.UTF8.GetString(ctx.Message.Body.Span)] = ctx.Message.Cluster;
            }));
        await app.Host.StartAsync();
        var status = app.Get<IDualClusterStatus>();

        // Left over on Old: written before the producers moved, not consumed yet (the handler is held).
        for (var i = 0; i < 20; i++)
        {
            old.Send(new OutgoingMessage("e2e-drain", System.Text.Encoding.UTF8.GetBytes($"old-{i}")));
        }

        app.Configuration.Set(("DualCluster:Consumer:NewWeight", "100"));
        app.Get<RoutingState>().Reload();
        await WaitUntil(() => status.GetStatus().Consumers.Single().Phase == ConsumerPhase.Draining, "the node drains Old");
        Assert.Equal(ClusterSet.Both, status.GetStatus().Consumers.Single().Reading);

        gate.SetResult();
        await WaitUntil(() => status.GetStatus().Consumers.Single().Phase == ConsumerPhase.New, "the node left Old");

        Assert.Equal(20, handled.Count);
        Assert.All(handled.Values, c => Assert.Equal(ClusterRole.Old, c));
        Assert.True(old.GetBacklog("e2e-drain", "e2e-drain").IsDrained);
    }
}
