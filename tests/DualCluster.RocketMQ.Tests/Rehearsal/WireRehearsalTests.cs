using DualCluster.RocketMQ.Testing;
using DualCluster.Testing;
using Xunit.Abstractions;

namespace DualCluster.RocketMQ.Tests.Rehearsal;

/// <summary>
/// The migration rehearsal over the wire: Old a loopback 4.x remoting cluster (TCP), New a loopback 5.x gRPC proxy
/// (HTTP/2), every node on <c>UseRocketMQ()</c>; the five steps with rollbacks, 20,000 messages, a 0/0 ledger.
/// Consumer crashes run with Old on 4.x remoting (a stop that outlives its handlers no longer commits a queue another
/// node took over) and with both clusters on gRPC.
/// </summary>
public sealed class WireRehearsalTests(ITestOutputHelper output)
{
    private const int Messages = 20_000;

    [Fact]
    public Task Without_faults_the_five_steps_over_remoting_and_gRPC_lose_nothing_and_process_nothing_twice() => RehearseAsync();

    [Fact]
    public Task Lost_acks_over_the_wire_are_redelivered_and_suppressed() => RehearseAsync(RehearsalFault.AckLost());

    [Fact]
    public Task Send_timeouts_after_the_broker_stored_the_message_are_suppressed_over_the_wire() => RehearseAsync(RehearsalFault.SendTimeoutAfterStore());

    [Fact]
    public Task Cluster_outages_over_the_wire_lose_nothing_and_duplicate_nothing() => RehearseAsync(RehearsalFault.ClusterOutage());

    [Fact]
    public Task Store_outages_over_the_wire_lose_nothing_and_duplicate_nothing() => RehearseAsync(RehearsalFault.StoreOutage());

    [Fact]
    public Task A_rebalance_storm_over_the_wire_loses_nothing_and_duplicates_nothing() => RehearseAsync(RehearsalFault.RebalanceStorm());

    [Fact]
    public Task Configuration_flapping_over_the_wire_keeps_the_last_valid_routing() => RehearseAsync(RehearsalFault.ConfigFlapping());

    [Fact]
    public Task Handlers_slower_than_the_lease_over_the_wire_run_once() => RehearseAsync(RehearsalFault.SlowHandler());

    [Fact]
    public Task Clock_skew_between_nodes_over_the_wire_loses_nothing_and_duplicates_nothing() => RehearseAsync(RehearsalFault.ClockSkew());

    [Fact]
    public Task Fleet_registry_outages_over_the_wire_move_nothing_and_lose_nothing() => RehearseAsync(RehearsalFault.RegistryOutage());

    [Fact]
    public Task Both_clusters_on_gRPC_with_consumer_crashes_lose_nothing_and_duplicate_nothing() =>
        RehearseAsync(new RocketMQRehearsalClusters(RocketMQRehearsalClusters.Grpc, RocketMQRehearsalClusters.Grpc), RehearsalFault.ConsumerCrash());

    [Fact]
    public Task Consumer_crashes_with_Old_on_4x_remoting_lose_nothing_and_duplicate_nothing() =>
        RehearseAsync(RehearsalFault.ConsumerCrash());

    [Fact]
    public void An_unknown_protocol_is_refused_with_the_two_that_exist()
    {
        var error = Assert.Throws<ArgumentException>(() => new RocketMQRehearsalClusters("Http"));
        Assert.Contains("\"Remoting\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"Grpc\"", error.Message, StringComparison.Ordinal);
    }

    private Task<RehearsalResult> RehearseAsync(params RehearsalFault[] faults) => RehearseAsync(new RocketMQRehearsalClusters(), faults);

    private async Task<RehearsalResult> RehearseAsync(RocketMQRehearsalClusters clusters, params RehearsalFault[] faults)
    {
        // The 5.x client keeps a delivery invisible for at least 10 s (the proxy's floor), so a message a crashed
        // node had fetched comes back only then: the run waits longer for progress before it calls anything lost.
        var options = new RehearsalOptions { Messages = Messages, Seed = 11, Clusters = clusters, QuietPeriod = TimeSpan.FromSeconds(30) };
        foreach (var fault in faults)
        {
            options.Faults.Add(fault);
        }

        var result = await new MigrationRehearsal(options).RunAsync().WaitAsync(TimeSpan.FromMinutes(4));
        output.WriteLine($"{clusters.Description}; faults: {string.Join(", ", result.Faults)}");
        output.WriteLine($"sent {result.Sent} (failed {result.SendFailures}), handled {result.HandledUnique}, lost {result.Lost}, duplicate effects {result.DuplicateEffects}, suppressed {result.DuplicatesSuppressed}, {result.MessagesPerSecond:0} msg/s in {result.Elapsed.TotalSeconds:0.0} s");
        foreach (var step in result.Steps)
        {
            output.WriteLine($"  {step.Step.Label}: applied={step.Applied} sentOld={step.SentOld} sentNew={step.SentNew} handledOld={step.HandledOld} handledNew={step.HandledNew} backlogOld={step.BacklogOld} outstanding={step.Outstanding}");
            foreach (var note in step.Faults)
            {
                output.WriteLine("    " + note);
            }
        }

        foreach (var lost in result.LostMessages.Take(10))
        {
            output.WriteLine("  lost: " + lost);
        }

        foreach (var duplicate in result.DuplicatedMessages.Take(10))
        {
            output.WriteLine("  duplicated: " + duplicate);
        }

        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(Messages, result.Sent + result.SendFailures);
        Assert.Equal(result.Sent + result.HandledAfterFailedSend, result.HandledUnique);
        Assert.Equal(RehearsalStep.FiveStepsWithRollbacks.Count, result.Steps.Count);
        Assert.Equal(0, result.Steps[^1].BacklogOld);
        Assert.Equal(0, result.Steps[^1].ConsumersReadingOld);
        Assert.True(result.HandledUnique > 0);
        return result;
    }
}
