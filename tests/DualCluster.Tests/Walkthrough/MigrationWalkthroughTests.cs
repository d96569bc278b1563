using MigrationWalkthrough;

namespace DualCluster.Tests.Walkthrough;

public sealed class MigrationWalkthroughTests
{
    [Fact]
    public async Task The_five_steps_with_faults_lose_nothing_and_process_nothing_twice()
    {
        var scenario = new MigrationScenario(new ScenarioOptions { Messages = 2_000, Seed = 7, AckLoss = 0.02 });

        var result = await scenario.RunAsync();

        // A send the producer facade reports failed (retries exhausted) is the application's to handle, not a loss.
        Assert.Equal(2_000, result.Sent + result.SendFailures);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(result.Sent + result.HandledAfterFailedSend, result.HandledUnique);
        Assert.True(result.DuplicatesSuppressed > 0, "ack loss and stored-then-timed-out sends must have produced duplicates for the gate to skip");
        Assert.Equal(12, result.RejectedReloads); // the unsafe reload, refused by each of the 12 nodes
        Assert.Contains("no consumer reads New", result.RejectionExample, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3, 4, 5], result.Steps.Where(s => !s.Step.IsRollback).Select(s => s.Step.Step));
        Assert.Equal(0, result.Steps[^1].BacklogOld);
        Assert.Equal(0, result.Steps[^1].ConsumersReadingOld);
        Assert.Equal(0, result.Steps[1].SentNew); // nothing is written to New before step 3
    }
}
