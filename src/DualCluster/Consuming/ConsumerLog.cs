using Microsoft.Extensions.Logging;

namespace DualCluster.Consuming;

internal static partial class ConsumerLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Idempotency store unreachable for group {Group}, key {IdempotencyKey}; the message is not acked and will be redelivered")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception, string group, string idempotencyKey);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Duplicate skipped: group {Group}, key {IdempotencyKey} from {Cluster} (attempt {Attempt})")]
    public static partial void DuplicateSkipped(ILogger logger, string group, string idempotencyKey, ClusterRole cluster, int attempt);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Handler failed for group {Group}, key {IdempotencyKey} from {Cluster} (attempt {Attempt}); the message will be redelivered")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string group, string idempotencyKey, ClusterRole cluster, int attempt);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Handler for group {Group}, key {IdempotencyKey} outlived its lease ({Lease}) and another node took the key over: the message may be processed twice; raise DualCluster:Idempotency:Lease above the slowest handler")]
    public static partial void LeaseLost(ILogger logger, string group, string idempotencyKey, TimeSpan lease);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Could not record group {Group}, key {IdempotencyKey} as processed; the message is acked, but another copy of it could be processed again")]
    public static partial void CompleteFailed(ILogger logger, Exception exception, string group, string idempotencyKey);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Group {Group}: key {IdempotencyKey} arrived again from {Cluster} (message {MessageId}) with a different body than when it was first processed; it is not processed again — check the producer's key scheme")]
    public static partial void PayloadMismatch(ILogger logger, string group, string idempotencyKey, ClusterRole cluster, string messageId);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Error, Message = "Dead-lettered: group {Group}, topic {Topic}, key {IdempotencyKey}, message {MessageId} from {Cluster} was not processed on its last delivery attempt ({Attempt} of {MaxAttempts}) and goes to the dead-letter queue %DLQ%{Group}: {Reason}")]
    public static partial void DeadLettered(ILogger logger, string group, string topic, string idempotencyKey, string messageId, ClusterRole cluster, int attempt, int maxAttempts, string reason);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Handler failed for group {Group}, key {IdempotencyKey} from {Cluster} on its last delivery attempt ({Attempt} of {MaxAttempts}); the message is not redelivered: it goes to the dead-letter queue")]
    public static partial void HandlerFailedLastAttempt(ILogger logger, Exception exception, string group, string idempotencyKey, ClusterRole cluster, int attempt, int maxAttempts);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error, Message = "Consumer {Group}/{Topic}: the OnDeadLetter callback failed for key {IdempotencyKey}; the message still goes to the dead-letter queue")]
    public static partial void DeadLetterCallbackFailed(ILogger logger, Exception exception, string group, string topic, string idempotencyKey);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Consumer {Group}/{Topic} started reading {Cluster}")]
    public static partial void Started(ILogger logger, string group, string topic, ClusterRole cluster);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Consumer {Group}/{Topic} stopped reading {Cluster}")]
    public static partial void Stopped(ILogger logger, string group, string topic, ClusterRole cluster);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Consumer {Group}/{Topic} is draining {Cluster} before leaving it: {Reason}")]
    public static partial void Draining(ILogger logger, string group, string topic, ClusterRole cluster, string reason);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Error, Message = "Consumer {Group}/{Topic} could not start reading {Cluster}; retrying")]
    public static partial void StartFailed(ILogger logger, Exception exception, string group, string topic, ClusterRole cluster);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning, Message = "Backlog check of {Cluster} for {Group}/{Topic} failed; still draining")]
    public static partial void DrainCheckFailed(ILogger logger, Exception exception, string group, string topic, ClusterRole cluster);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Warning, Message = "The idempotency gate was disposed with {Count} handler runs still in flight; their claims lapse after the lease")]
    public static partial void GateDisposedWithRunsInFlight(ILogger logger, int count);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Error, Message = "Consumer {Group}/{Topic}: reconciliation failed; retrying at the next drain check")]
    public static partial void ReconcileFailed(ILogger logger, Exception exception, string group, string topic);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Error, Message = "Consumer {Group}/{Topic}: a status subscriber failed")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception, string group, string topic);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Error, Message = "Consumer {Group}/{Topic} failed to stop reading {Cluster} cleanly; unsettled messages are redelivered")]
    public static partial void StopFailed(ILogger logger, Exception exception, string group, string topic, ClusterRole cluster);

    [LoggerMessage(EventId = 3024, Level = LogLevel.Warning, Message = "Consumer {Group}/{Topic}: {Warning}")]
    public static partial void FleetStoreNeeded(ILogger logger, string group, string topic, string warning);

    [LoggerMessage(EventId = 3025, Level = LogLevel.Warning, Message = "Consumer {Group}/{Topic} cannot leave {Cluster}: {Reason}")]
    public static partial void TopicMissing(ILogger logger, string group, string topic, ClusterRole cluster, string reason);
}
