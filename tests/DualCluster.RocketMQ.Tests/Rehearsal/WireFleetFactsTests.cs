using DualCluster.RocketMQ.Testing;
using DualCluster.Testing;
using Xunit.Abstractions;

namespace DualCluster.RocketMQ.Tests.Rehearsal;

/// <summary>
/// Issue 12 over the wire (Old a loopback 4.x remoting cluster, New a loopback 5.x gRPC proxy, groups that start at the
/// latest offset): the few-nodes and single-reload traps lose nothing on fleet facts, and the few-nodes one loses what one
/// producer wrote to New with the guard on the configuration alone.
/// </summary>
public sealed class WireFleetFactsTests(ITestOutputHelper output)
{
    private const int Messages = 12_000;

    [Fact]
    public async Task Few_nodes_over_the_wire_lose_nothing_on_facts()
    {
        var result = await RehearseAsync(RehearsalStep.FewNodes, configOnly: false);

        Assert.Equal(0, result.Steps[2].SentNew);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(Messages, result.HandledUnique);
    }

    [Fact]
    public async Task Few_nodes_over_the_wire_with_the_configuration_only_guard_lose_what_reached_New_first()
    {
        var result = await RehearseAsync(RehearsalStep.FewNodes, configOnly: true);

        Assert.True(result.Lost > 0, "what order-svc-1 wrote to New before the group had a position there must show as lost");
        Assert.All(result.LostMessages, m => Assert.Equal(ClusterRole.New, m.SentTo));
        Assert.Equal(0, result.DuplicateEffects);
    }

    [Fact]
    public async Task A_single_reload_over_the_wire_loses_nothing_on_facts()
    {
        var result = await RehearseAsync(RehearsalStep.SingleReload, configOnly: false);

        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(Messages, result.HandledUnique);
    }

    private async Task<RehearsalResult> RehearseAsync(IReadOnlyList<RehearsalStep> plan, bool configOnly)
    {
        var fewNodes = ReferenceEquals(plan, RehearsalStep.FewNodes);
        var options = new RehearsalOptions
        {
            Messages = Messages,
            Seed = 5,
            Plan = plan,
            ConfigOnlyGuard = configOnly,
            Clusters = new RocketMQRehearsalClusters(),
            // Paced so each step lasts about a second: a producer's first connection to New must not outlast the step
            // in which it writes New before anyone reads it.
            MessagesPerSecond = 2_000,
            ProducerNodeIds = fewNodes ? RehearsalStep.FewNodesProducerIds : null,
            ConsumerNodeIds = fewNodes ? RehearsalStep.FewNodesConsumerIds : null,
            QuietPeriod = TimeSpan.FromSeconds(15),
        };
        var result = await new MigrationRehearsal(options).RunAsync().WaitAsync(TimeSpan.FromMinutes(4));
        output.WriteLine($"sent {result.Sent} (failed {result.SendFailures}), handled {result.HandledUnique}, lost {result.Lost}, duplicate effects {result.DuplicateEffects}, {result.Elapsed.TotalSeconds:0.0} s");
        foreach (var step in result.Steps)
        {
            output.WriteLine($"  {step.Step.Label} {step.Step.Settings}: sentOld={step.SentOld} sentNew={step.SentNew} handledOld={step.HandledOld} handledNew={step.HandledNew} outstanding={step.Outstanding}");
            foreach (var wait in step.Waits.Distinct())
            {
                output.WriteLine("    waits: " + wait);
            }
        }

        Assert.Equal(Messages, result.Sent + result.SendFailures);
        return result;
    }
}
