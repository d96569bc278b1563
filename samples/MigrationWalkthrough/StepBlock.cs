using System.Globalization;
using DualCluster.Testing;

namespace MigrationWalkthrough;

/// <summary>
/// The walkthrough's screen, laid out for a terminal of <see cref="Width"/> columns (80 by default): a header, one
/// block per step (label: value lines, long values wrapped under their label), a progress line within a step, and why
/// the guard rejected reloads on a run that passes.
/// </summary>
internal static class StepBlock
{
    public const int Width = 80;
    private const int LabelWidth = 12;

    public static IEnumerable<string> Header(ScenarioOptions options, string faults, string clusters, int width = Width)
    {
        yield return "DualCluster migration walkthrough";
        foreach (var line in Field("run", $"{options.Messages.ToString("N0", CultureInfo.InvariantCulture)} messages, seed {options.Seed}"
            + (options.MessagesPerSecond > 0 ? $", {options.MessagesPerSecond.ToString("N0", CultureInfo.InvariantCulture)} msg/s" : ", as fast as the fleet goes")
            + (options.SafeOrderGuard ? options.ConfigOnlyGuard ? ", guard on the configuration only" : ", guard on live fleet facts" : ", guard OFF"), width))
        {
            yield return line;
        }

        foreach (var line in Field("faults", faults, width).Concat(Field("clusters", clusters, width)))
        {
            yield return line;
        }
    }

    /// <summary>Why the run shows rejected reloads although it passes: the deliberate unsafe demo before step 1.</summary>
    public static IEnumerable<string> GuardDemo(string? rejection, int width = Width)
    {
        var text = "Before step 1 the walkthrough asks every node to move its producers to New while no consumer reads "
            + "New: the unsafe order that loses messages. Every node rejected that reload and kept its routing, so the "
            + "rejected reloads counted below are the guard working, not a failure."
            + (rejection is null ? "" : $" The reason each node logged: {rejection}");
        return Field("guard demo", text, width);
    }

    public static IEnumerable<string> Render(RehearsalStepReport step, int width = Width)
    {
        var n = CultureInfo.InvariantCulture;
        var title = $"Step {step.Step.Label}. {step.Step.Title}";
        yield return "";
        foreach (var line in Wrap(title, width, ""))
        {
            yield return line;
        }

        var fields = new List<(string Label, string Value)>
        {
            ("settings", step.Step.Settings + (step.Applied ? "" : "  REJECTED by the guard: the fleet kept its routing")),
            ("sent", $"old {step.SentOld.ToString("N0", n)}, new {step.SentNew.ToString("N0", n)}, failed {step.SendFailures.ToString("N0", n)}"),
            ("handled", $"old {step.HandledOld.ToString("N0", n)}, new {step.HandledNew.ToString("N0", n)}, outstanding {step.Outstanding.ToString("N0", n)}"),
            ("duplicates", $"{step.DuplicatesSuppressed.ToString("N0", n)} skipped by the gate, {step.DuplicateEffects.ToString("N0", n)} processed twice"),
            ("backlog", $"old {step.BacklogOld.ToString("N0", n)}, new {step.BacklogNew.ToString("N0", n)}"),
            ("fleet", $"{step.ProducersOnNew} producers on New; consumers reading old {step.ConsumersReadingOld}, new {step.ConsumersReadingNew}; draining {step.Draining}"),
            ("reloads", $"{step.RejectedReloads} rejected so far"),
        };
        fields.AddRange(step.Faults.Select(f => ("fault", f)));
        fields.AddRange(step.Waits.Distinct().Select(w => ("waits", w)));
        foreach (var (label, value) in fields)
        {
            foreach (var line in Field(label, value, width))
            {
                yield return line;
            }
        }
    }

    /// <summary>One line, at most <paramref name="width"/> − 1 columns, to be rewritten in place while a step runs.</summary>
    public static string Progress(RehearsalProgress progress, int width = Width)
    {
        var n = CultureInfo.InvariantCulture;
        var percent = progress.Messages > 0 ? 100.0 * progress.Sent / progress.Messages : 0;
        var line = $"  step {progress.Step.Label}: sent {progress.Sent.ToString("N0", n)}/{progress.Messages.ToString("N0", n)} ({percent.ToString("0", n)}%), "
            + $"handled {progress.Handled.ToString("N0", n)}, {progress.SentPerSecond.ToString("N0", n)} msg/s";
        return line.Length < width ? line : line[..(width - 1)];
    }

    /// <summary><c>  label       value</c>, the value wrapped under itself.</summary>
    public static IEnumerable<string> Field(string label, string value, int width = Width)
    {
        var indent = new string(' ', 2 + LabelWidth);
        var first = true;
        foreach (var line in Wrap(value, width - indent.Length, ""))
        {
            yield return (first ? "  " + label.PadRight(LabelWidth) : indent) + line;
            first = false;
        }
    }

    private static IEnumerable<string> Wrap(string text, int width, string indent)
    {
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var piece = word;
            while (piece.Length > width)
            {
                // A word longer than the line (a key, a path): cut it rather than overflow.
                if (line.Length > 0)
                {
                    yield return indent + line;
                    line.Clear();
                }

                yield return indent + piece[..width];
                piece = piece[width..];
            }

            if (line.Length > 0 && line.Length + 1 + piece.Length > width)
            {
                yield return indent + line;
                line.Clear();
            }

            if (line.Length > 0)
            {
                line.Append(' ');
            }

            line.Append(piece);
        }

        if (line.Length > 0)
        {
            yield return indent + line;
        }
    }
}
