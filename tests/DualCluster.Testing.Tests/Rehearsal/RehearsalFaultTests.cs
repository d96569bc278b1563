using DualCluster.Testing;
using Xunit.Abstractions;

namespace DualCluster.Testing.Tests.Rehearsal;

/// <summary>One rehearsal per fault of the catalogue: the five steps with rollbacks, 20,000 messages, a 0/0 ledger.</summary>
public sealed class RehearsalFaultTests(ITestOutputHelper output)
{
    private const int Messages = 20_000;

    [Fact]
    public Task Without_faults_the_five_steps_lose_nothing_and_process_nothing_twice() => RehearseAsync();

    [Fact]
    public Task Lost_acks_are_redelivered_and_suppressed() => RehearseAsync(RehearsalFault.AckLost());

    [Fact]
    public Task Consumer_crashes_mid_handler_lose_nothing_and_duplicate_nothing() => RehearseAsync(RehearsalFault.ConsumerCrash());

    [Fact]
    public Task Send_timeouts_after_the_broker_stored_the_message_are_suppressed() => RehearseAsync(RehearsalFault.SendTimeoutAfterStore());

    [Fact]
    public Task Cluster_outages_lose_nothing_and_duplicate_nothing() => RehearseAsync(RehearsalFault.ClusterOutage());

    [Fact]
    public Task Store_outages_lose_nothing_and_duplicate_nothing() => RehearseAsync(RehearsalFault.StoreOutage());

    [Fact]
    public Task Configuration_flapping_within_the_debounce_window_keeps_the_last_valid_routing() => RehearseAsync(RehearsalFault.ConfigFlapping());

    [Fact]
    public Task Handlers_slower_than_the_lease_run_once() => RehearseAsync(RehearsalFault.SlowHandler());

    [Fact]
    public Task Clock_skew_between_nodes_loses_nothing_and_duplicates_nothing() => RehearseAsync(RehearsalFault.ClockSkew());

    [Fact]
    public Task A_rebalance_storm_loses_nothing_and_duplicates_nothing() => RehearseAsync(RehearsalFault.RebalanceStorm());

    [Fact]
    public Task Fleet_registry_outages_move_nothing_and_lose_nothing() => RehearseAsync(RehearsalFault.RegistryOutage());

    private async Task<RehearsalResult> RehearseAsync(params RehearsalFault[] faults)
    {
        var options = new RehearsalOptions { Messages = Messages, Seed = 11 };
        foreach (var fault in faults)
        {
            options.Faults.Add(fault);
        }

        var result = await new MigrationRehearsal(options).RunAsync().WaitAsync(TimeSpan.FromMinutes(3));
        RehearsalPrinter.Print(result, output.WriteLine);

        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(Messages, result.Sent + result.SendFailures);
        Assert.Equal(result.Sent + result.HandledAfterFailedSend, result.HandledUnique);
        Assert.Equal(RehearsalStep.FiveStepsWithRollbacks.Count, result.Steps.Count);
        Assert.Equal(0, result.Steps[^1].BacklogOld);
        Assert.Equal(0, result.Steps[^1].ConsumersReadingOld);
        return result;
    }
}
