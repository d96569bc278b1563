namespace DualCluster.Testing;

/// <summary>Where a consumer group that has never consumed a topic starts reading it.</summary>
public enum ConsumeStartPosition
{
    /// <summary>
    /// At the latest offset: messages stored before the group first subscribed are never delivered to it.
    /// Real brokers may do this for a new group, which is why moving producers before consumers loses messages.
    /// </summary>
    Latest = 0,

    /// <summary>At the earliest offset still stored: the group sees everything.</summary>
    Earliest = 1,
}
