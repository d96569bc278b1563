namespace DualCluster;

/// <summary>Settings of one consumer registration.</summary>
public sealed class ConsumerOptions
{
    /// <summary>Tag filter: <c>*</c> for all, or tags joined by <c>||</c>.</summary>
    public string FilterExpression { get; set; } = "*";

    /// <summary>Most handler calls at once, per cluster read.</summary>
    public int MaxConcurrency { get; set; } = 16;

    /// <summary>Deliveries before the broker dead-letters a message.</summary>
    public int MaxDeliveryAttempts { get; set; } = 16;

    /// <summary>How long a delivered message stays invisible to other consumers while it is handled.</summary>
    public TimeSpan InvisibleDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Derives the idempotency key of a message that carries no <see cref="MessageProperties.IdempotencyKey"/>
    /// (sent by a producer that does not use DualCluster); return null to fall back to the message id.
    /// </summary>
    public Func<ReceivedMessage, string?>? KeySelector { get; set; }
}
