using DualCluster.Testing;

namespace MigrationWalkthrough;

/// <summary>The walkthrough's <c>--help</c>: what it does, each flag with its default, at 80 columns.</summary>
internal static class Help
{
    private const int FlagWidth = 21;

    public static IEnumerable<string> Lines(int width = StepBlock.Width)
    {
        yield return "usage: MigrationWalkthrough [options]";
        yield return "";
        foreach (var line in Wrap("Walks a simulated fleet (6 producer and 6 consumer nodes, separate hosts) through the five migration "
            + "steps on two embedded clusters, with continuous traffic and faults, and prints one block per step. It ends "
            + "with the ledger's verdict: 'lost: N' and 'duplicateEffects: N' (both 0 on a pass).", width))
        {
            yield return line;
        }

        yield return "";
        yield return "options:";
        var flags = new (string Flag, string Description)[]
        {
            ("--messages N", "messages sent over the whole run, at least 5 (default 20000)"),
            ("--seed S", "seed of every random decision, for a reproducible run (default 1)"),
            ("--faults LIST", "comma-separated faults, 'all' or 'none' (default: ack-lost at 0.5 % and send-timeout-after-store); "
                + "known: " + string.Join(", ", RehearsalFault.Names)),
            ("--rate R", "messages per second over the fleet; 0 sends as fast as the fleet goes (default 0)"),
            ("--plan P", "five, rollbacks, producers-first, leave-old-with-backlog, few-nodes or single-reload (default rollbacks: "
                + "the five steps with two rollbacks; producers-first and leave-old-with-backlog are the unsafe orders the guard "
                + "exists for; few-nodes (3 producer and 3 consumer nodes, weights whose buckets leave New without a reader) and "
                + "single-reload (consumers and producers move in one reload) are the traps a guard on the configuration alone misses)"),
            ("--no-guard", "switch the safe-order guard off, to see the loss of an unsafe plan (default: on; with it on, a "
                + "deliberate unsafe reload is shown rejected before step 1)"),
            ("--config-only-guard", "decide on the configuration only, as before the fleet registry (default: every node "
                + "publishes to a shared in-memory fleet registry and the guard decides on live facts)"),
            ("--history", $"keep every effect's origin and print it with duplicates (default: only for runs of up to "
                + $"{RehearsalLedger.HistoryLimit:N0} messages)"),
            ("--wire", "serve Old over a loopback 4.x remoting broker and New over a loopback 5.x gRPC proxy (default: in-process)"),
            ("--json", "print only a machine-readable summary (default: text for a terminal)"),
            ("-h, --help", "this help"),
        };
        foreach (var (flag, description) in flags)
        {
            var first = true;
            foreach (var line in Wrap(description, width - 2 - FlagWidth))
            {
                yield return "  " + (first ? flag.PadRight(FlagWidth) : new string(' ', FlagWidth)) + line;
                first = false;
            }
        }
    }

    private static IEnumerable<string> Wrap(string text, int width) =>
        StepBlock.Field("", text, width + 2 + 12).Select(l => l[(2 + 12)..]);
}
