namespace DualCluster;

/// <summary>
/// A message whose last delivery attempt was not processed, so the broker moves it to the group's dead-letter queue
/// (<c>%DLQ%{group}</c>) instead of redelivering it. Reported by the log (event 3007), the
/// <c>dualcluster.messages.dead_lettered</c> counter, <see cref="ConsumerStatus.LastDeadLetter"/> and
/// <see cref="ConsumerOptions.OnDeadLetter"/>.
/// </summary>
/// <param name="Group">The consumer group.</param>
/// <param name="Topic">The topic.</param>
/// <param name="Cluster">The cluster the message was read from.</param>
/// <param name="MessageId">The transport message id.</param>
/// <param name="IdempotencyKey">The key the gate dedupes on.</param>
/// <param name="Attempts">The delivery attempts spent (the group's maximum).</param>
/// <param name="Reason">Why the last attempt was not processed: the handler's exception type and message, or why it did not run.</param>
/// <param name="At">When it happened (the host's <see cref="TimeProvider"/>).</param>
public sealed record DeadLetteredMessage(
    string Group,
    string Topic,
    ClusterRole Cluster,
    string MessageId,
    string IdempotencyKey,
    int Attempts,
    string Reason,
    DateTimeOffset At)
{
    /// <summary>The message as received (body and properties), for an application that parks it in its own store.</summary>
    public ReceivedMessage? Message { get; init; }

    /// <summary>Prints the identifying fields, not the body.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"Group = {Group}, Topic = {Topic}, Cluster = {Cluster}, MessageId = {MessageId}, IdempotencyKey = {IdempotencyKey}, Attempts = {Attempts}, Reason = {Reason}, At = {At:O}");
        return true;
    }
}
