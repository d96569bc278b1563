using DualCluster.Testing;

namespace DualCluster.Testing.Tests.Rehearsal;

internal static class RehearsalPrinter
{
    public static void Print(RehearsalResult result, Action<string> write)
    {
        foreach (var s in result.Steps)
        {
            write($"step {s.Step.Label} {s.Step.Settings} applied={s.Applied} sent old/new {s.SentOld}/{s.SentNew} failed {s.SendFailures} handled old/new {s.HandledOld}/{s.HandledNew} " +
                $"outstanding {s.Outstanding} dupEffects {s.DuplicateEffects} suppressed {s.DuplicatesSuppressed} backlog old/new {s.BacklogOld}/{s.BacklogNew} " +
                $"producersOnNew {s.ProducersOnNew} readers old/new {s.ConsumersReadingOld}/{s.ConsumersReadingNew} draining {s.Draining} rejected {s.RejectedReloads}");
            foreach (var f in s.Faults)
            {
                write("    " + f);
            }
        }

        write($"sent {result.Sent} failed {result.SendFailures} handled {result.HandledUnique} lost {result.Lost} dupEffects {result.DuplicateEffects} suppressed {result.DuplicatesSuppressed} " +
            $"handledAfterFailedSend {result.HandledAfterFailedSend} deadLettered {result.DeadLettered} rejected {result.RejectedReloads} elapsed {result.Elapsed.TotalSeconds:F1}s " +
            $"p99 e2e {result.EndToEndLatency.P99.TotalMilliseconds:F1} ms p99 handler {result.HandlerLatency.P99.TotalMilliseconds:F2} ms");
        foreach (var e in result.LostMessages.Concat(result.DuplicatedMessages))
        {
            write($"  #{e.Sequence} key {e.IdempotencyKey} sent to {e.SentTo} effects {e.Effects}");
            foreach (var h in e.History)
            {
                write("      " + h);
            }
        }
    }
}
