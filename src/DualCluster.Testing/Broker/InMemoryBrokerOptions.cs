namespace DualCluster.Testing;

/// <summary>Settings of an <see cref="InMemoryBroker"/>. Read once, when the broker is created.</summary>
public sealed class InMemoryBrokerOptions
{
    /// <summary>
    /// The broker name, reported in backlog queues and mixed into generated message ids. Null: a name unique
    /// in the process (<c>broker-1</c>, <c>broker-2</c>, …). Give Old and New brokers explicit, different names
    /// when generated ids must be reproducible between runs.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>Seed of every random decision the broker makes (lost acks, id prefix), so a run can be repeated.</summary>
    public int Seed { get; set; }

    /// <summary>The clock for delays, invisibility deadlines and long polls. Null: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Whether a send to an unknown topic creates it with <see cref="DefaultQueueCount"/> queues (default true).</summary>
    public bool AutoCreateTopics { get; set; } = true;

    /// <summary>Queues of an auto-created topic (default 4).</summary>
    public int DefaultQueueCount { get; set; } = 4;

    /// <summary>Where a new consumer group starts (default <see cref="ConsumeStartPosition.Latest"/>, as real brokers may).</summary>
    public ConsumeStartPosition NewGroupStartPosition { get; set; } = ConsumeStartPosition.Latest;

    /// <summary>Deliveries of one message to a group before it goes to the group's dead-letter queue (default 16).</summary>
    public int MaxDeliveryAttempts { get; set; } = 16;
}
