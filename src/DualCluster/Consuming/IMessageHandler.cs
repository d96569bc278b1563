namespace DualCluster;

/// <summary>
/// Handles messages of one consumer registration. Resolved from a fresh DI scope per message. Runs at
/// most once per idempotency key and consumer group while the key is retained (with the idempotency gate
/// on). Throw to have the message redelivered; return normally to have it acked.
/// </summary>
public interface IMessageHandler
{
    /// <summary>Processes one message.</summary>
    /// <param name="context">The message and its processing context.</param>
    /// <param name="cancellationToken">Cancelled when the node shuts down past its grace period; the message is then redelivered.</param>
    Task HandleAsync(MessageContext context, CancellationToken cancellationToken);
}
