using System.Collections.Concurrent;
using System.Globalization;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Routing;
using DualCluster.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Utf8 = System.Text.Encoding;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>
/// The migration's five steps through the public API (<c>AddDualCluster(...).UseRocketMQ()</c>), with New a loopback
/// 5.x gRPC broker and Old a loopback 4.x remoting cluster (the usual migration) or a second gRPC broker: every message
/// is handled exactly once, none is lost, and the consumers leave Old only once it is drained.
/// </summary>
public sealed class DualClusterOverWireTests
{
    private const int PerStep = 20;

    [Theory]
    [InlineData("Remoting")]
    [InlineData("Grpc")]
    public async Task Five_step_migration_to_a_gRPC_cluster_loses_nothing_and_handles_everything_once(string oldProtocol)
    {
        var topic = GrpcWire.Unique("orders");
        var group = GrpcWire.Unique("order-svc");
        var oldBroker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" });
        var newBroker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" });
        oldBroker.CreateTopic(topic, 4);
        newBroker.CreateTopic(topic, 4);
        await using var newServer = await GrpcWire.StartBrokerAsync(broker: newBroker);
        await using var oldRemoting = oldProtocol == "Remoting" ? await RemotingLoopbackCluster.StartAsync(oldBroker) : null;
        await using var oldGrpc = oldProtocol == "Grpc" ? await GrpcWire.StartBrokerAsync(broker: oldBroker) : null;

        var fleet = new Fleet();
        fleet.Set(Clusters(newServer, oldRemoting, oldGrpc));
        fleet.Set(Weights(producer: 0, consumer: 0));
        var handled = new ConcurrentDictionary<string, int>();
        var handledFrom = new ConcurrentDictionary<string, ClusterRole>();
        var store = new Idempotency.InMemoryIdempotencyStore();
        var nodes = new List<IHost>();
        try
        {
            // One producer node and two consumer nodes, one on each side of bucket 50.
            nodes.Add(await StartNodeAsync(fleet, NodeId("producer", low: true), store, consumer: null));
            foreach (var low in new[] { true, false })
            {
                nodes.Add(await StartNodeAsync(fleet, NodeId("consumer", low), store, (group, topic, handled, handledFrom)));
            }

            var producer = nodes[0].Services.GetRequiredService<IDualClusterProducer>();
            var sent = 0;
            async Task SendStepAsync()
            {
                for (var i = 0; i < PerStep; i++)
                {
                    var key = $"order-{sent++}";
                    await producer.SendAsync(new OutgoingMessage(topic, Utf8.UTF8.GetBytes(key)) { IdempotencyKey = key });
                }

                await GrpcWire.WaitUntilAsync(() => handled.Count >= sent, $"all {sent} messages are handled", TimeSpan.FromSeconds(60));
            }

            // 1. Everything on Old.
            await SendStepAsync();
            // 2. Some consumers read New (the low-bucket consumer node).
            fleet.Set(Weights(producer: 0, consumer: 50));
            await WaitForRoutingAsync(nodes, n => n.Consumers.All(c => c.Phase != ConsumerPhase.Stopped));
            await SendStepAsync();
            // 3 and 4. Producers write New (the one producer node moves at once).
            fleet.Set(Weights(producer: 100, consumer: 50));
            await WaitForRoutingAsync(nodes, n => n.ProducerTarget == ClusterRole.New);
            await SendStepAsync();
            // 5. Old drained: the last consumers leave it.
            fleet.Set(Weights(producer: 100, consumer: 100));
            await SendStepAsync();
            await WaitForRoutingAsync(nodes.Skip(1), n => n.Consumers.All(c => c.Phase == ConsumerPhase.New));

            Assert.Equal(PerStep * 4, sent);
            Assert.All(Enumerable.Range(0, sent), i => Assert.True(handled.TryGetValue($"order-{i}", out var times) && times == 1, $"order-{i} handled {(handled.TryGetValue($"order-{i}", out var n) ? n : 0)} times"));
            Assert.Equal(PerStep, Enumerable.Range(0, PerStep).Count(i => handledFrom[$"order-{i}"] == ClusterRole.Old));
            Assert.Equal(PerStep * 2, Enumerable.Range(PerStep * 2, PerStep * 2).Count(i => handledFrom[$"order-{i}"] == ClusterRole.New));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.StopAsync();
                node.Dispose();
            }

            store.Dispose();
        }
    }

    private static Dictionary<string, string?> Clusters(GrpcLoopbackBroker newServer, RemotingLoopbackCluster? oldRemoting, GrpcLoopbackBroker? oldGrpc)
    {
        var settings = new Dictionary<string, string?>(newServer.ToConfiguration("DualCluster:Clusters:New"), StringComparer.OrdinalIgnoreCase)
        {
            ["DualCluster:Clusters:New:Settings:AssignmentScanInterval"] = "00:00:01",
            ["DualCluster:Clusters:New:Settings:TelemetryReconnectDelay"] = "00:00:00.200",
            ["DualCluster:Consumer:DrainCheckInterval"] = "00:00:00.200",
            ["DualCluster:Idempotency:HeldElsewhereRetryDelay"] = "00:00:00.200",
            ["DualCluster:ReloadDebounce"] = "00:00:00",
        };
        if (oldRemoting is not null)
        {
            settings["DualCluster:Clusters:Old:Protocol"] = "Remoting";
            settings["DualCluster:Clusters:Old:NameServers"] = oldRemoting.NameServerAddress;
            settings["DualCluster:Clusters:Old:Settings:PullSuspendTimeout"] = "00:00:01";
            settings["DualCluster:Clusters:Old:Settings:RebalanceInterval"] = "00:00:01";
            settings["DualCluster:Clusters:Old:Settings:OffsetPersistInterval"] = "00:00:00.200";
            // The remoting probe knows ready / in-flight / retry exactly but not the delayed count (SCHEDULE_TOPIC_XXXX is
            // not per group): with no delayed messages in this run, the operator allows leaving Old on the known counts.
            settings["DualCluster:Consumer:AssumeOldDrainedWhenUnknown"] = "true";
        }
        else
        {
            foreach (var (key, value) in oldGrpc!.ToConfiguration("DualCluster:Clusters:Old"))
            {
                settings[key] = value;
            }

            settings["DualCluster:Clusters:Old:Settings:AssignmentScanInterval"] = "00:00:01";
            // The 5.x protocol cannot report a backlog: an operator checks the console, then allows leaving Old.
            settings["DualCluster:Consumer:AssumeOldDrainedWhenUnknown"] = "true";
        }

        return settings;
    }

    private static Dictionary<string, string?> Weights(int producer, int consumer) => new()
    {
        ["DualCluster:Producer:NewWeight"] = producer.ToString(CultureInfo.InvariantCulture),
        ["DualCluster:Consumer:NewWeight"] = consumer.ToString(CultureInfo.InvariantCulture),
    };

    private static string NodeId(string prefix, bool low) =>
        Enumerable.Range(1, 10_000).Select(i => $"{prefix}-{i}").First(id => NodeBucket.Compute(id) < 50 == low);

    private static async Task<IHost> StartNodeAsync(
        Fleet fleet, string nodeId, Idempotency.IIdempotencyStore store,
        (string Group, string Topic, ConcurrentDictionary<string, int> Handled, ConcurrentDictionary<string, ClusterRole> From)? consumer)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        ((IConfigurationBuilder)builder.Configuration).Add(new FleetSource(fleet));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DualCluster:NodeId"] = nodeId });
        builder.Logging.ClearProviders();
        var dual = builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseRocketMQ()
            .UseIdempotencyStore(_ => store);
        if (consumer is { } c)
        {
            dual.AddConsumer(c.Group, c.Topic, (context, _) =>
            {
                var key = context.Message.IdempotencyKey!;
                c.Handled.AddOrUpdate(key, 1, (_, n) => n + 1);
                c.From[key] = context.Message.Cluster;
                return Task.CompletedTask;
            }, o => o.MaxConcurrency = 4);
        }
        else
        {
            dual.AddProducer();
        }

        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task WaitForRoutingAsync(IEnumerable<IHost> nodes, Func<NodeStatus, bool> condition)
    {
        var statuses = () => nodes.Select(n => n.Services.GetRequiredService<IDualClusterStatus>().GetStatus()).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!statuses().All(condition))
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for the routing: " + string.Join(" | ", statuses().Select(s =>
                $"{s.NodeId} producer={s.ProducerTarget} consumers=[{string.Join(", ", s.Consumers.Select(c => $"{c.Phase} reading={c.Reading} draining={c.Draining} backlog={c.LastBacklog} error={c.LastError}"))}]")));
            await Task.Delay(50);
        }
    }

    /// <summary>The fleet's shared settings; <see cref="Set"/> fires every node's reload as a file save would.</summary>
    private sealed class Fleet
    {
        private readonly List<FleetProvider> _providers = [];
        private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase);

        public Dictionary<string, string?> Snapshot()
        {
            lock (_providers)
            {
                return new(_settings, StringComparer.OrdinalIgnoreCase);
            }
        }

        public void Register(FleetProvider provider)
        {
            lock (_providers)
            {
                _providers.Add(provider);
            }
        }

        public void Set(Dictionary<string, string?> changes)
        {
            FleetProvider[] providers;
            lock (_providers)
            {
                foreach (var (key, value) in changes)
                {
                    _settings[key] = value;
                }

                providers = [.. _providers];
            }

            foreach (var provider in providers)
            {
                provider.Reload();
            }
        }
    }

    private sealed class FleetSource(Fleet fleet) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder)
        {
            var provider = new FleetProvider(fleet);
            fleet.Register(provider);
            return provider;
        }
    }

    private sealed class FleetProvider(Fleet fleet) : ConfigurationProvider
    {
        public override void Load() => Data = fleet.Snapshot();

        public void Reload()
        {
            Load();
            OnReload();
        }
    }
}
