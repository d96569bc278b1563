namespace DualCluster;

/// <summary>Where a consumer registration stands on this node.</summary>
public enum ConsumerPhase
{
    /// <summary>Not started, or stopped.</summary>
    Stopped,

    /// <summary>Reading Old only.</summary>
    Old,

    /// <summary>Reading both clusters.</summary>
    Both,

    /// <summary>Reading New only.</summary>
    New,

    /// <summary>Routed away from a cluster that no other consumer reads, still reading it until its backlog is zero and no producer writes it.</summary>
    Draining,
}
