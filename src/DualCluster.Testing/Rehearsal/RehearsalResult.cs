namespace DualCluster.Testing;

/// <summary>The verdict of a rehearsal: the ledger's totals, each step's report and the run's figures.</summary>
/// <param name="Messages">Messages the traffic tried to send.</param>
/// <param name="Sent">Sends a broker acknowledged.</param>
/// <param name="SendFailures">Sends reported failed to the application (not counted as sent; never retried by the rehearsal).</param>
/// <param name="HandledUnique">Acknowledged or not, messages with at least one handler effect.</param>
/// <param name="Lost">Acknowledged sends that no handler ever processed.</param>
/// <param name="DuplicateEffects">Handler effects beyond the first for the same message.</param>
/// <param name="DuplicatesSuppressed">Deliveries the idempotency gate skipped as duplicates.</param>
/// <param name="HandledAfterFailedSend">Messages handled although their send was reported failed (a broker kept a copy).</param>
/// <param name="DeadLettered">Messages the brokers moved to the group's dead-letter queue.</param>
/// <param name="RejectedReloads">Reloads rejected over the run, summed over the nodes alive at the end.</param>
/// <param name="RejectionExample">One rejection message, if any.</param>
/// <param name="LostMessages">The first lost messages, with their idempotency keys.</param>
/// <param name="DuplicatedMessages">The first messages with duplicate effects, with their idempotency keys.</param>
/// <param name="Steps">One report per plan step.</param>
/// <param name="Faults">The faults of the run, by name.</param>
/// <param name="EndToEndLatency">Send started → first handler effect.</param>
/// <param name="HandlerLatency">Time inside the handler (the rehearsal's and yours), per run of it.</param>
/// <param name="Elapsed">Wall time of the run (fleet start to settled).</param>
public sealed record RehearsalResult(
    long Messages,
    long Sent,
    long SendFailures,
    long HandledUnique,
    long Lost,
    long DuplicateEffects,
    long DuplicatesSuppressed,
    long HandledAfterFailedSend,
    long DeadLettered,
    long RejectedReloads,
    string? RejectionExample,
    IReadOnlyList<LedgerEntry> LostMessages,
    IReadOnlyList<LedgerEntry> DuplicatedMessages,
    IReadOnlyList<RehearsalStepReport> Steps,
    IReadOnlyList<string> Faults,
    LatencySummary EndToEndLatency,
    LatencySummary HandlerLatency,
    TimeSpan Elapsed)
{
    /// <summary>Nothing lost, nothing processed twice, something sent.</summary>
    public bool Passed => Lost == 0 && DuplicateEffects == 0 && Sent > 0;

    /// <summary>Acknowledged sends per second over the whole run.</summary>
    public double MessagesPerSecond => Elapsed > TimeSpan.Zero ? Sent / Elapsed.TotalSeconds : 0;
}
