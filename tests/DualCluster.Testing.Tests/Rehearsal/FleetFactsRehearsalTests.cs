using DualCluster.Testing;
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
