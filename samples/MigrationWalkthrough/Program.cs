using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DualCluster.RocketMQ.Testing;
using DualCluster.Testing;
using MigrationWalkthrough;
using Spectre.Console;

// The README's main job: the five migration steps on two embedded in-memory clusters, under faults, with a ledger.
//   dotnet run --project samples/MigrationWalkthrough -c Release [-- --messages N --seed S --faults LIST|all --rate R --plan P --no-guard --config-only-guard --wire --json]
// Soak: dotnet run --project samples/MigrationWalkthrough -c Release -- --messages 1000000 --faults all
var options = new ScenarioOptions();
var json = false;
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--json":
            json = true;
            break;
        case "--wire":
            options = options with { Wire = true };
            break;
        case "--history":
            options = options with { History = true };
            break;
        case "--no-guard":
            options = options with { SafeOrderGuard = false };
            break;
        case "--config-only-guard":
            options = options with { ConfigOnlyGuard = true };
            break;
        case "--messages" when int.TryParse(value, CultureInfo.InvariantCulture, out var messages) && messages >= 5:
            options = options with { Messages = messages };
            i++;
            break;
        case "--seed" when int.TryParse(value, CultureInfo.InvariantCulture, out var seed):
            options = options with { Seed = seed };
            i++;
            break;
        case "--rate" when double.TryParse(value, CultureInfo.InvariantCulture, out var rate) && rate >= 0:
            options = options with { MessagesPerSecond = rate };
            i++;
            break;
        case "--faults" when value is not null:
            try
            {
                options = options with { Faults = RehearsalFault.Parse(value) };
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }

            i++;
            break;
        case "--plan" when value is not null:
            IReadOnlyList<RehearsalStep>? plan = value switch
            {
                "five" => RehearsalStep.FiveSteps,
                "rollbacks" => RehearsalStep.FiveStepsWithRollbacks,
                "producers-first" => RehearsalStep.ProducersFirst,
                "leave-old-with-backlog" => RehearsalStep.LastConsumersLeaveOldWithBacklog,
                "few-nodes" => RehearsalStep.FewNodes,
                "single-reload" => RehearsalStep.SingleReload,
                _ => null,
            };
            if (plan is null)
            {
                Console.Error.WriteLine($"unknown plan '{value}': five, rollbacks, producers-first, leave-old-with-backlog, few-nodes, single-reload");
                return 2;
            }

            options = value == "few-nodes"
                ? options with { Plan = plan, ProducerNodeIds = RehearsalStep.FewNodesProducerIds, ConsumerNodeIds = RehearsalStep.FewNodesConsumerIds }
                : options with { Plan = plan };
            i++;
            break;
        case "--help" or "-h":
            foreach (var line in Help.Lines())
            {
                Console.WriteLine(line);
            }

            return 0;
        default:
            Console.Error.WriteLine($"unknown or incomplete argument '{args[i]}'; try --help");
            return 2;
    }
}

var faults = options.Faults is null ? "ack-lost, send-timeout-after-store" : options.Faults.Count == 0 ? "none" : string.Join(", ", options.Faults.Select(f => f.Name));
var clusters = options.Wire ? new RocketMQRehearsalClusters().Description : "two in-memory brokers";
var interactive = !json && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
var scenario = new MigrationScenario(options);
var screen = new object();
var progressShown = false;
var guardExplained = false;
if (!json)
{
    foreach (var line in StepBlock.Header(options, faults, clusters))
    {
        Console.WriteLine(line);
    }
}

var result = await scenario.RunAsync(
    step =>
    {
        if (json)
        {
            return;
        }

        lock (screen)
        {
            if (progressShown)
            {
                Console.Write("\r" + new string(' ', StepBlock.Width - 1) + "\r");
                progressShown = false;
            }

            if (!guardExplained && options.SafeOrderGuard && step.RejectedReloads > 0)
            {
                // A passing run shows rejected reloads: say at once that they are the deliberate unsafe demo.
                guardExplained = true;
                Console.WriteLine();
                foreach (var line in StepBlock.GuardDemo(null))
                {
                    Console.WriteLine(line);
                }
            }

            foreach (var line in StepBlock.Render(step))
            {
                Console.WriteLine(line);
            }
        }
    },
    onProgress: interactive
        ? progress =>
        {
            lock (screen)
            {
                // Rewritten in place, one line, so the blocks above stay readable.
                Console.Write("\r" + StepBlock.Progress(progress).PadRight(StepBlock.Width - 1));
                progressShown = true;
            }
        }
        : null);
lock (screen)
{
    if (progressShown)
    {
        Console.Write("\r" + new string(' ', StepBlock.Width - 1) + "\r");
        progressShown = false;
    }
}

GC.Collect();
var managedMb = GC.GetTotalMemory(forceFullCollection: true) / (1024.0 * 1024.0);
var workingSetMb = Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024.0);
if (json)
{
    var summary = new
    {
        result.Messages,
        result.Sent,
        result.SendFailures,
        result.HandledUnique,
        result.Lost,
        result.DuplicateEffects,
        result.DuplicatesSuppressed,
        result.HandledAfterFailedSend,
        result.DeadLettered,
        result.RejectedReloads,
        result.RejectionExample,
        result.LostMessages,
        result.DuplicatedMessages,
        result.Faults,
        elapsedSeconds = Math.Round(result.Elapsed.TotalSeconds, 2),
        messagesPerSecond = Math.Round(result.MessagesPerSecond),
        p99EndToEndMs = result.EndToEndLatency.P99.TotalMilliseconds,
        p99HandlerMs = result.HandlerLatency.P99.TotalMilliseconds,
        managedMemoryMb = Math.Round(managedMb, 1),
        workingSetMb = Math.Round(workingSetMb, 1),
        passed = result.Passed,
        steps = result.Steps.Select(s => new { step = s.Step.Label, s.Step.Title, s.Step.Settings, s.Applied, s.SentOld, s.SentNew, s.SendFailures, s.HandledOld, s.HandledNew, s.Outstanding, s.DuplicatesSuppressed, s.DuplicateEffects, s.BacklogOld, s.BacklogNew, s.ProducersOnNew, s.ConsumersReadingOld, s.ConsumersReadingNew, s.Draining, s.RejectedReloads, s.Faults, s.Waits }),
    };
    Console.WriteLine(JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
}
else
{
    Console.WriteLine();
    if (result.RejectionExample is not null)
    {
        foreach (var line in StepBlock.Field("guard", $"{result.RejectedReloads} reloads rejected, all by the deliberate unsafe demo: {result.RejectionExample}"))
        {
            Console.WriteLine(line);
        }
    }

    foreach (var line in StepBlock.Field("ledger", $"sent {result.Sent}, send failures {result.SendFailures} (reported to the application), handled {result.HandledUnique} " +
        $"(of which {result.HandledAfterFailedSend} after a failed send), duplicates skipped {result.DuplicatesSuppressed}, dead-lettered {result.DeadLettered}, rejected reloads {result.RejectedReloads}"))
    {
        Console.WriteLine(line);
    }
    Console.WriteLine($"lost: {result.Lost}");
    Console.WriteLine($"duplicateEffects: {result.DuplicateEffects}");
    foreach (var entry in result.LostMessages)
    {
        Console.WriteLine($"  lost #{entry.Sequence} key {entry.IdempotencyKey} (sent to {entry.SentTo})");
    }

    foreach (var entry in result.DuplicatedMessages)
    {
        Console.WriteLine($"  duplicated #{entry.Sequence} key {entry.IdempotencyKey} ({entry.Effects} effects){(entry.History.Count == 0 ? "" : ": " + string.Join("; ", entry.History))}");
    }

    foreach (var line in StepBlock.Field("figures", string.Create(CultureInfo.InvariantCulture, $"{result.MessagesPerSecond:F0} msg/s over {result.Elapsed.TotalSeconds:F1} s, p99 end-to-end {result.EndToEndLatency.P99.TotalMilliseconds:F1} ms, ") +
        string.Create(CultureInfo.InvariantCulture, $"p99 handler {result.HandlerLatency.P99.TotalMilliseconds:F2} ms, managed memory {managedMb:F0} MB, working set {workingSetMb:F0} MB")))
    {
        Console.WriteLine(line);
    }
    Console.WriteLine($"verdict: {(result.Passed ? "PASS — nothing lost, nothing processed twice" : "FAIL")}");
}

return result.Passed ? 0 : 1;
