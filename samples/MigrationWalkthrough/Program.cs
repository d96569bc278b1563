using System.Globalization;
using System.Text.Json;
using MigrationWalkthrough;
using Spectre.Console;

// The README's main job: the five migration steps on two embedded in-memory clusters.
//   dotnet run --project samples/MigrationWalkthrough -c Release [-- --messages N --seed S --json]
var options = new ScenarioOptions();
var json = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--json":
            json = true;
            break;
        case "--messages" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var messages) && messages >= 5:
            options = options with { Messages = messages };
            i++;
            break;
        case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var seed):
            options = options with { Seed = seed };
            i++;
            break;
        case "--help" or "-h":
            Console.WriteLine("usage: MigrationWalkthrough [--messages N (>= 5, default 20000)] [--seed S] [--json]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown or incomplete argument '{args[i]}'; try --help");
            return 2;
    }
}

var live = !json && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
var scenario = new MigrationScenario(options);
ScenarioResult result;
if (live)
{
    var table = new Table().Border(TableBorder.Rounded).Title($"[bold]DualCluster migration walkthrough[/] — {options.Messages:N0} messages, seed {options.Seed}");
    foreach (var column in new[] { "step", "settings", "sent old/new", "handled old/new", "dupes skipped", "backlog old/new", "producers on New", "consumers old/new", "rejected reloads" })
    {
        table.AddColumn(column);
    }

    result = await AnsiConsole.Live(table).StartAsync(async ctx =>
    {
        var r = await scenario.RunAsync(step =>
        {
            table.AddRow(
                $"{step.Step}. {Markup.Escape(step.Title)}" + (step.Note is null ? "" : $"\n[yellow]{Markup.Escape(step.Note)}[/]"),
                Markup.Escape(step.Settings),
                $"{step.SentOld:N0} / {step.SentNew:N0}",
                $"{step.HandledOld:N0} / {step.HandledNew:N0}",
                $"{step.DuplicatesSuppressed:N0}",
                $"{step.BacklogOld:N0} / {step.BacklogNew:N0}",
                $"{step.ProducersOnNew}",
                $"{step.ConsumersReadingOld} / {step.ConsumersReadingNew}",
                $"{step.RejectedReloads}");
            ctx.Refresh();
        });
        return r;
    });
}
else
{
    result = await scenario.RunAsync(step =>
    {
        if (!json)
        {
            Console.WriteLine(
                $"step {step.Step}: {step.Title} [{step.Settings}] sent old/new {step.SentOld}/{step.SentNew}, handled old/new {step.HandledOld}/{step.HandledNew}, " +
                $"duplicates skipped {step.DuplicatesSuppressed}, backlog old/new {step.BacklogOld}/{step.BacklogNew}, producers on New {step.ProducersOnNew}, " +
                $"consumers reading old/new {step.ConsumersReadingOld}/{step.ConsumersReadingNew}, rejected reloads {step.RejectedReloads}" +
                (step.Note is null ? "" : $" ({step.Note})"));
        }
    });
}

if (json)
{
    var summary = new
    {
        sent = result.Sent,
        consumedUnique = result.ConsumedUnique,
        lost = result.Lost,
        duplicateEffects = result.DuplicateEffects,
        duplicatesSuppressed = result.DuplicatesSuppressed,
        rejectedReloads = result.RejectedReloads,
        rejectionExample = result.RejectionExample,
        elapsedSeconds = Math.Round(result.Elapsed.TotalSeconds, 2),
        passed = result.Passed,
        steps = result.Steps,
    };
    Console.WriteLine(JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
}
else
{
    if (result.RejectionExample is not null)
    {
        Console.WriteLine($"guard: {result.RejectionExample}");
    }

    Console.WriteLine($"sent: {result.Sent}");
    Console.WriteLine($"consumedUnique: {result.ConsumedUnique}");
    Console.WriteLine($"duplicatesSuppressed: {result.DuplicatesSuppressed}");
    Console.WriteLine($"rejectedReloads: {result.RejectedReloads}");
    Console.WriteLine($"lost: {result.Lost}");
    Console.WriteLine($"duplicateEffects: {result.DuplicateEffects}");
    Console.WriteLine($"verdict: {(result.Passed ? "PASS — nothing lost, nothing processed twice" : "FAIL")} ({result.Elapsed.TotalSeconds:F1} s)");
}

return result.Passed ? 0 : 1;
