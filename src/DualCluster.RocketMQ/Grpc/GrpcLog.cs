using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>Log messages of the gRPC transport (event ids 4100–4199). Never logs secrets or bodies.</summary>
internal static partial class GrpcLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "[{Cluster}] Telemetry to {Endpoint} opened for client {ClientId} (connection {Connection})")]
    public static partial void TelemetryOpened(ILogger logger, ClusterRole cluster, string endpoint, string clientId, int connection);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "[{Cluster}] Telemetry to {Endpoint} broke for client {ClientId}; reopening")]
    public static partial void TelemetryBroken(ILogger logger, Exception? exception, ClusterRole cluster, string endpoint, string clientId);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "[{Cluster}] No settings reply on Telemetry from {Endpoint} within {Timeout}; continuing")]
    public static partial void SettingsReplyTimeout(ILogger logger, ClusterRole cluster, string endpoint, TimeSpan timeout);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "[{Cluster}] Telemetry from {Endpoint} reported {Status}")]
    public static partial void TelemetryStatus(ILogger logger, ClusterRole cluster, string endpoint, string status);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "[{Cluster}] Heartbeat to {Endpoint} failed")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception, ClusterRole cluster, string endpoint);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "[{Cluster}] Route refresh of topic {Topic} failed; keeping the cached route")]
    public static partial void RouteRefreshFailed(ILogger logger, Exception exception, ClusterRole cluster, string topic);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Information, Message = "[{Cluster}] Route of topic {Topic} changed: {Queues} queues")]
    public static partial void RouteChanged(ILogger logger, ClusterRole cluster, string topic, int queues);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning, Message = "[{Cluster}] Send of {MessageId} to {Endpoint} failed (attempt {Attempt}); its endpoint is skipped until a heartbeat to it succeeds")]
    public static partial void SendAttemptFailed(ILogger logger, Exception exception, ClusterRole cluster, string messageId, string endpoint, int attempt);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Warning, Message = "[{Cluster}] Receive from {Endpoint} for {Group}/{Topic} failed; retrying")]
    public static partial void ReceiveFailed(ILogger logger, Exception exception, ClusterRole cluster, string endpoint, string group, string topic);

    [LoggerMessage(EventId = 4109, Level = LogLevel.Warning, Message = "[{Cluster}] Settling {MessageId} of {Group}/{Topic} ({Outcome}) failed; the broker will redeliver it")]
    public static partial void SettleFailed(ILogger logger, Exception exception, ClusterRole cluster, string messageId, string group, string topic, string outcome);

    [LoggerMessage(EventId = 4110, Level = LogLevel.Warning, Message = "[{Cluster}] Assignment scan of {Group}/{Topic} failed; keeping current assignments")]
    public static partial void AssignmentFailed(ILogger logger, Exception exception, ClusterRole cluster, string group, string topic);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Warning, Message = "[{Cluster}] Message {MessageId} of {Topic} failed its body digest check; asking for redelivery")]
    public static partial void CorruptedMessage(ILogger logger, ClusterRole cluster, string messageId, string topic);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Debug, Message = "[{Cluster}] NotifyClientTermination to {Endpoint} failed")]
    public static partial void TerminationFailed(ILogger logger, Exception exception, ClusterRole cluster, string endpoint);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Warning, Message = "[{Cluster}] A scheduled client task (heartbeat, route refresh, settings sync) failed; it runs again at the next tick")]
    public static partial void ScheduledTaskFailed(ILogger logger, Exception exception, ClusterRole cluster);

    [LoggerMessage(EventId = 4114, Level = LogLevel.Debug, Message = "[{Cluster}] Handler for {MessageId} of {Group}/{Topic} threw; the message will be redelivered")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, ClusterRole cluster, string messageId, string group, string topic);

    [LoggerMessage(EventId = 4115, Level = LogLevel.Warning, Message = "[{Cluster}] The AccessKey and request signatures travel in plaintext to {Endpoint} (http://, no TLS). "
        + "Anyone on the path can read them and replay the authorization header for as long as the keys are valid (the proxy signs only x-mq-date-time and never checks its age); use https://")]
    public static partial void CredentialsInPlaintext(ILogger logger, ClusterRole cluster, string endpoint);
}
