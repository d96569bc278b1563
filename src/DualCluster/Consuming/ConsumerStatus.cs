using DualCluster.Transport;

namespace DualCluster;

/// <summary>One consumer registration's state on this node.</summary>
/// <param name="Group">The consumer group.</param>
/// <param name="Topic">The topic.</param>
/// <param name="Targets">Where routing says it should read.</param>
/// <param name="Reading">Where it actually reads now (targets plus clusters being drained).</param>
/// <param name="Draining">Clusters it keeps reading only to drain them.</param>
/// <param name="Phase">A one-word summary.</param>
/// <param name="LastBacklog">The last backlog seen by the drain check, if any.</param>
/// <param name="LastError">The last start or drain-check error, if any.</param>
public sealed record ConsumerStatus(
    string Group,
    string Topic,
    ClusterSet Targets,
    ClusterSet Reading,
    ClusterSet Draining,
    ConsumerPhase Phase,
    BacklogReport? LastBacklog,
    string? LastError)
{
    /// <summary>The last message this registration let go to the dead-letter queue since start, if any.</summary>
    public DeadLetteredMessage? LastDeadLetter { get; init; }

    /// <summary>While it drains: what it waits for before it leaves (a backlog, a producer still writing, the grace period…); null otherwise.</summary>
    public string? DrainReason { get; init; }
}
