using Microsoft.Extensions.Logging;

namespace DualCluster.Producing;

internal static partial class ProducerLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Send to {Cluster} failed for topic {Topic}; failing over to {Other}")]
    public static partial void FailingOver(ILogger logger, Exception exception, ClusterRole cluster, string topic, ClusterRole other);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Send to {Cluster} failed for topic {Topic}; failover to {Other} not allowed: {Reason}")]
    public static partial void FailoverRefused(ILogger logger, ClusterRole cluster, string topic, ClusterRole other, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Mirror write to {Cluster} failed for topic {Topic} (key {IdempotencyKey}); the primary write succeeded")]
    public static partial void MirrorFailed(ILogger logger, Exception exception, ClusterRole cluster, string topic, string idempotencyKey);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Send to {Cluster} failed for topic {Topic} (key {IdempotencyKey})")]
    public static partial void SendFailed(ILogger logger, Exception exception, ClusterRole cluster, string topic, string idempotencyKey);
}
