using DualCluster.Testing;
using MigrationWalkthrough;

namespace DualCluster.Tests.Walkthrough;

/// <summary>Issue 18, finding 10: the walkthrough reads well on an 80×24 terminal.</summary>
public sealed class WalkthroughScreenTests
{
    private static readonly RehearsalStepReport Step = new(
        new RehearsalStep(3, "Some producers write New", 50, 50),
        Applied: true, SentOld: 1_686_000, SentNew: 21_000, SendFailures: 0, HandledOld: 1_541_000, HandledNew: 24_000, Outstanding: 149,
        DuplicateEffects: 0, DuplicatesSuppressed: 3, BacklogOld: 159, BacklogNew: 0, ProducersOnNew: 3, ConsumersReadingOld: 3,
        ConsumersReadingNew: 3, Draining: 0, RejectedReloads: 12,
        Faults: ["418 ms send-timeout-after-store: next 3 sends on each cluster store, then time out", "x" + new string('y', 120)]);

    [Fact]
    public void A_step_is_one_block_of_label_value_lines_that_fit_80_columns()
    {
        var lines = StepBlock.Render(Step).ToList();

        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        Assert.Contains(lines, l => l == "Step 3. Some producers write New");
        Assert.Contains(lines, l => l.StartsWith("  sent        old 1,686,000, new 21,000", StringComparison.Ordinal));
        Assert.True(lines.Count < 20, "one step must fit on a 24-line screen");
    }

    [Fact]
    public void The_progress_line_within_a_step_shows_count_and_rate_on_one_line()
    {
        var line = StepBlock.Progress(new RehearsalProgress(Step.Step, 4_512, 4_400, 20_000, TimeSpan.FromSeconds(2)));

        Assert.True(line.Length < 80);
        Assert.Contains("sent 4,512/20,000 (23%)", line, StringComparison.Ordinal);
        Assert.Contains("2,256 msg/s", line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_screen_explains_that_the_rejected_reloads_of_a_passing_run_are_the_deliberate_unsafe_demo()
    {
        var text = string.Join(" ", StepBlock.GuardDemo("DualCluster:Producer:NewWeight=30 moves writes to New while no consumer reads New").Select(l => l.Trim()));

        Assert.Contains("rejected reloads counted below are the guard working, not a failure", text, StringComparison.Ordinal);
        Assert.All(StepBlock.GuardDemo("x"), l => Assert.True(l.Length <= 80));
    }

    [Fact]
    public void Help_describes_every_flag_with_its_default_within_80_columns()
    {
        var lines = Help.Lines().ToList();
        var text = string.Join("\n", lines);

        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        foreach (var flag in new[] { "--messages", "--seed", "--faults", "--rate", "--plan", "--no-guard", "--config-only-guard", "--history", "--wire", "--json", "--help" })
        {
            Assert.Contains(flag, text, StringComparison.Ordinal);
        }

        // Each flag's entry (its first line and the indented lines under it) states its default.
        var entries = new List<string>();
        foreach (var line in lines.SkipWhile(l => l != "options:").Skip(1))
        {
            if (line.StartsWith("  -", StringComparison.Ordinal))
            {
                entries.Add(line);
            }
            else
            {
                entries[^1] += " " + line.Trim();
            }
        }

        Assert.Equal(11, entries.Count);
        Assert.All(entries.Where(e => !e.Contains("--help", StringComparison.Ordinal)), e => Assert.Contains("default", e, StringComparison.Ordinal));
    }
}
