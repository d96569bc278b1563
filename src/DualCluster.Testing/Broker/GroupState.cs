namespace DualCluster.Testing;

/// <summary>Settings of one consumer group. Guarded by the broker's lock.</summary>
internal sealed class GroupState(string name, int maxDeliveryAttempts, ConsumeStartPosition startPosition)
{
    public string Name { get; } = name;

    public int MaxDeliveryAttempts { get; set; } = maxDeliveryAttempts;

    public ConsumeStartPosition StartPosition { get; set; } = startPosition;
}
