using DualCluster.Testing;
using Xunit.Abstractions;

namespace DualCluster.Testing.Tests.Rehearsal;

/// <summary>The unsafe orders the design warns about: with the guard off the ledger shows the loss, with it on none.</summary>
public sealed class UnsafeOrderTests(ITestOutputHelper output)
{
    private const int Messages = 20_000;

    [Fact]
    public async Task Producers_first_without_the_guard_loses_what_reached_New_before_its_consumers()
    {
        var result = await RehearseAsync(RehearsalStep.ProducersFirst, guard: false);

        // Without the guard nothing is drained either, so Old's last backlog may be lost as well: what matters here is
        // that messages written to New before its consumer group existed are.
        // The lost-message list holds the first 20 by sequence; on a slow machine those can all be Old's, so count
        // New's loss from the final report (no duplicates: every New effect is a distinct New send).
        var final = result.Steps[^1];
        Assert.True(final.SentNew > final.HandledNew, "messages written to New before its consumer group existed must show as lost");
        Assert.All(result.LostMessages, m => Assert.NotNull(m.IdempotencyKey));
        Assert.Equal(0, result.DuplicateEffects);
    }

    [Fact]
    public async Task Producers_first_with_the_guard_is_rejected_and_loses_nothing()
    {
        var result = await RehearseAsync(RehearsalStep.ProducersFirst, guard: true);

        Assert.False(result.Steps[1].Applied);
        Assert.Equal(0, result.Steps[1].ProducersOnNew);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(Messages, result.HandledUnique);
    }

    [Fact]
    public async Task Last_consumers_leaving_Old_with_a_backlog_without_the_guard_lose_it()
    {
        var result = await RehearseAsync(RehearsalStep.LastConsumersLeaveOldWithBacklog, guard: false);

        Assert.True(result.Lost > 0, "Old's backlog left behind must show as lost");
        Assert.All(result.LostMessages, m => Assert.Equal(ClusterRole.Old, m.SentTo));
        Assert.Equal(0, result.DuplicateEffects);
    }

    [Fact]
    public async Task Last_consumers_leaving_Old_with_a_backlog_with_the_guard_drain_it_first()
    {
        var result = await RehearseAsync(RehearsalStep.LastConsumersLeaveOldWithBacklog, guard: true);

        Assert.True(result.Steps[^2].BacklogOld > 0, "the plan must have built a backlog on Old");
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(Messages, result.HandledUnique);
        Assert.Equal(0, result.Steps[^1].ConsumersReadingOld);
    }

    private async Task<RehearsalResult> RehearseAsync(IReadOnlyList<RehearsalStep> plan, bool guard)
    {
        var options = new RehearsalOptions
        {
            Messages = Messages,
            Seed = 5,
            Plan = plan,
            SafeOrderGuard = guard,
            QuietPeriod = TimeSpan.FromSeconds(2),
        };
        var result = await new MigrationRehearsal(options).RunAsync().WaitAsync(TimeSpan.FromMinutes(3));
        RehearsalPrinter.Print(result, output.WriteLine);
        Assert.Equal(Messages, result.Sent + result.SendFailures);
        return result;
    }
}
