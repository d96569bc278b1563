namespace DualCluster.Testing;

/// <summary>The fleet and the ledger at the end of one plan step (counts are cumulative).</summary>
/// <param name="Step">The step of the plan.</param>
/// <param name="Applied">True when the fleet applied the step's weights; false when the guard rejected them on every node.</param>
/// <param name="SentOld">Sends acknowledged by Old so far.</param>
/// <param name="SentNew">Sends acknowledged by New so far.</param>
/// <param name="SendFailures">Sends reported failed to the application so far.</param>
/// <param name="HandledOld">Handler effects of Old deliveries so far.</param>
/// <param name="HandledNew">Handler effects of New deliveries so far.</param>
/// <param name="Outstanding">Acknowledged sends not handled yet (in transit, not lost, until the run settles).</param>
/// <param name="DuplicateEffects">Handler effects beyond the first so far.</param>
/// <param name="DuplicatesSuppressed">Deliveries the idempotency gate skipped as duplicates so far.</param>
/// <param name="BacklogOld">Old's known backlog for the group.</param>
/// <param name="BacklogNew">New's known backlog for the group.</param>
/// <param name="ProducersOnNew">Live producer nodes writing New.</param>
/// <param name="ConsumersReadingOld">Live consumer nodes reading Old.</param>
/// <param name="ConsumersReadingNew">Live consumer nodes reading New.</param>
/// <param name="Draining">Live consumer nodes draining a cluster before leaving it.</param>
/// <param name="RejectedReloads">Reloads rejected so far, summed over the live nodes.</param>
/// <param name="Faults">What the faults did during the step.</param>
public sealed record RehearsalStepReport(
    RehearsalStep Step,
    bool Applied,
    long SentOld,
    long SentNew,
    long SendFailures,
    long HandledOld,
    long HandledNew,
    long Outstanding,
    long DuplicateEffects,
    long DuplicatesSuppressed,
    long BacklogOld,
    long BacklogNew,
    int ProducersOnNew,
    int ConsumersReadingOld,
    int ConsumersReadingNew,
    int Draining,
    long RejectedReloads,
    IReadOnlyList<string> Faults)
{
    /// <summary>What the live nodes waited for at the end of the step (from their status), one line each, prefixed by the node id.</summary>
    public IReadOnlyList<string> Waits { get; init; } = [];
}
