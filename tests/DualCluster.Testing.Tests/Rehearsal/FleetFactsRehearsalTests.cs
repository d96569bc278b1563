using DualCluster.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace DualCluster.Testing.Tests.Rehearsal;

/// <summary>Issue 12: the guard on live facts against the two traps a configuration-only guard lets through.</summary>
public sealed class FleetFactsRehearsalTests(ITestOutputHelper output)
{
    private const int Messages = 12_000;

    [Fact]
    public async Task Few_nodes_with_the_configuration_only_guard_lose_what_one_producer_wrote_to_New_before_any_consumer_read_it()
    {
        var result = await RehearseFewNodesAsync(configOnly: true);

        Assert.True(result.Lost > 0, "what reached New before the group held a position there must show as lost");
        Assert.All(result.LostMessages, m => Assert.Equal(ClusterRole.New, m.SentTo));
    }

    [Fact]
    public async Task Few_nodes_on_facts_keep_the_topic_on_Old_until_a_consumer_reads_New_and_lose_nothing()
    {
        var result = await RehearseFewNodesAsync(configOnly: false);

        var held = result.Steps[2];
        Assert.Equal(0, held.SentNew);
        Assert.Contains(held.Waits, w => w.StartsWith("order-svc-1: topic 'rehearsal' stays on Old: waiting for consumer group(s)", StringComparison.Ordinal));
        Assert.True(result.Steps[^1].SentNew > 0);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(Messages, result.HandledUnique);
    }

    [Fact]
    public async Task One_reload_moving_consumers_and_producers_at_once_loses_nothing_on_facts()
    {
        var result = await RehearseAsync(new RehearsalOptions { Messages = Messages, Seed = 7, Plan = RehearsalStep.SingleReload, MessagesPerSecond = 6_000 });

        Assert.True(result.Steps[1].SentNew > 0);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(Messages, result.HandledUnique);
    }

    [Fact]
    public async Task One_reload_moving_consumers_and_producers_at_once_is_rejected_on_the_configuration_alone()
    {
        var result = await RehearseAsync(new RehearsalOptions { Messages = 6_000, Seed = 7, Plan = RehearsalStep.SingleReload, MessagesPerSecond = 6_000, ConfigOnlyGuard = true });

        Assert.False(result.Steps[1].Applied);
        Assert.Equal(0, result.Steps[^1].SentNew);
        Assert.Equal(0, result.Lost);
    }

    private Task<RehearsalResult> RehearseFewNodesAsync(bool configOnly) =>
        RehearseAsync(new RehearsalOptions
        {
            Messages = Messages,
            Seed = 3,
            Plan = RehearsalStep.FewNodes,
            ProducerNodeIds = RehearsalStep.FewNodesProducerIds,
            ConsumerNodeIds = RehearsalStep.FewNodesConsumerIds,
            ConfigOnlyGuard = configOnly,
            QuietPeriod = TimeSpan.FromSeconds(3),

            // Paced, so each step carries traffic for a while (a step of an unpaced run can pass before a node's first send).
            MessagesPerSecond = 6_000,
        });

    private async Task<RehearsalResult> RehearseAsync(RehearsalOptions options)
    {
        var result = await new MigrationRehearsal(options).RunAsync().WaitAsync(TimeSpan.FromMinutes(3));
        RehearsalPrinter.Print(result, output.WriteLine);
        foreach (var step in result.Steps)
        {
            foreach (var wait in step.Waits)
            {
                output.WriteLine($"  step {step.Step.Label} waits: {wait}");
            }
        }

        Assert.Equal(options.Messages, result.Sent + result.SendFailures);
        return result;
    }
}

/// <summary>Issue 12: groups the fleet registry cannot see, from the broker's facts and from the configured list.</summary>
public sealed class OutsideGroupTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static async Task<Microsoft.Extensions.Hosting.IHost> StartProducerAsync(InMemoryBroker old, InMemoryBroker @new, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["DualCluster:NodeId"] = "order-svc-1",
            ["DualCluster:Producer:NewWeight"] = "100",
            ["DualCluster:Consumer:NewWeight"] = "50",
            ["DualCluster:Fleet:HeartbeatInterval"] = "00:00:00.050",
            ["DualCluster:Fleet:TimeToLive"] = "00:00:02",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        var registry = new DualCluster.Fleet.InMemoryFleetRegistry();
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseInMemoryBrokers(old, @new)
            .UseFleetRegistry(_ => registry)
            .AddProducer();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>Sends until a send lands on <paramref name="cluster"/> (the facts are re-read every heartbeat), or the deadline passes.</summary>
    private static async Task<SendResult> SendUntilAsync(IDualClusterProducer producer, ClusterRole cluster)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var result = await producer.SendAsync(new OutgoingMessage("orders", "x"u8.ToArray()));
            if (result.Cluster == cluster || deadline.Elapsed > Deadline)
            {
                return result;
            }

            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_group_the_broker_reports_on_Old_keeps_the_topic_there_until_New_holds_its_position()
    {
        var old = new InMemoryBroker();
        var @new = new InMemoryBroker();
        old.Subscribe("billing-outside", "orders");
        using var host = await StartProducerAsync(old, @new);
        var producer = host.Services.GetRequiredService<IDualClusterProducer>();
        var status = host.Services.GetRequiredService<IDualClusterStatus>();

        Assert.Equal(ClusterRole.Old, (await producer.SendAsync(new OutgoingMessage("orders", "x"u8.ToArray()))).Cluster);
        Assert.Contains(status.GetStatus().Waits, w => w.Contains("'billing-outside'", StringComparison.Ordinal));

        // The other application moves its group to New: New now holds its position.
        @new.Subscribe("billing-outside", "orders");

        Assert.Equal(ClusterRole.New, (await SendUntilAsync(producer, ClusterRole.New)).Cluster);
        Assert.Empty(status.GetStatus().Waits);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_required_group_no_fact_source_sees_keeps_the_topic_on_Old()
    {
        using var host = await StartProducerAsync(new InMemoryBroker(), new InMemoryBroker(), ("DualCluster:Guard:RequiredGroups:orders:0", "ledger-sync"));
        var producer = host.Services.GetRequiredService<IDualClusterProducer>();

        var result = await producer.SendAsync(new OutgoingMessage("orders", "x"u8.ToArray()));

        Assert.Equal(ClusterRole.Old, result.Cluster);
        var fleet = host.Services.GetRequiredService<DualCluster.Fleet.IDualClusterFleet>().GetFleet();
        Assert.Equal(DualCluster.Fleet.FleetGuardMode.Facts, fleet.Mode);
        Assert.Equal(["order-svc-1"], fleet.LiveMembers.Select(m => m.NodeId));
        Assert.Contains("'ledger-sync'", Assert.Single(fleet.Waits), StringComparison.Ordinal);
        await host.StopAsync();
    }
}
