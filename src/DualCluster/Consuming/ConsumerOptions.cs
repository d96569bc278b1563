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

    /// <summary>
    /// Called when a message's last delivery attempt (<see cref="MaxDeliveryAttempts"/>) was not processed, before it is
    /// handed back to the broker, which moves it to the group's dead-letter queue (<c>%DLQ%{group}</c>). Use it to park
    /// the message in the application's own store or to alert. Optional; an exception it throws is logged and ignored.
    /// </summary>
    public Func<DeadLetteredMessage, CancellationToken, Task>? OnDeadLetter { get; set; }
}
