using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>Source-generated log messages of the remoting transport (event ids 5100–5199).</summary>
internal static partial class RemotingLog
{
    [LoggerMessage(5100, LogLevel.Information, "[{Cluster}] remoting client {ClientId} started against name servers {NameServers}")]
    public static partial void ClientStarted(ILogger logger, ClusterRole cluster, string clientId, string nameServers);

    [LoggerMessage(5101, LogLevel.Warning, "[{Cluster}] connection to {Address} failed; retrying in {Backoff}")]
    public static partial void ConnectFailed(ILogger logger, ClusterRole cluster, string address, TimeSpan backoff, Exception exception);

    [LoggerMessage(5102, LogLevel.Warning, "[{Cluster}] heartbeat to {Address} failed")]
    public static partial void HeartbeatFailed(ILogger logger, ClusterRole cluster, string address, Exception exception);

    [LoggerMessage(5103, LogLevel.Warning, "[{Cluster}] route refresh of {Topic} failed")]
    public static partial void RouteRefreshFailed(ILogger logger, ClusterRole cluster, string topic, Exception exception);

    [LoggerMessage(5104, LogLevel.Information, "[{Cluster}] group {Group} topic {Topic}: rebalanced to {Count} queues ({Queues})")]
    public static partial void Rebalanced(ILogger logger, ClusterRole cluster, string group, string topic, int count, string queues);

    [LoggerMessage(5105, LogLevel.Warning, "[{Cluster}] pull from {Queue} failed; retrying")]
    public static partial void PullFailed(ILogger logger, ClusterRole cluster, string queue, Exception exception);

    [LoggerMessage(5106, LogLevel.Warning, "[{Cluster}] send-back of {MessageId} failed; it is consumed again locally")]
    public static partial void SendBackFailed(ILogger logger, ClusterRole cluster, string messageId, Exception exception);

    [LoggerMessage(5107, LogLevel.Warning, "[{Cluster}] offset commit for group {Group} failed")]
    public static partial void CommitFailed(ILogger logger, ClusterRole cluster, string group, Exception exception);

    [LoggerMessage(5108, LogLevel.Warning, "[{Cluster}] rebalance of group {Group} failed")]
    public static partial void RebalanceFailed(ILogger logger, ClusterRole cluster, string group, Exception exception);

    [LoggerMessage(5109, LogLevel.Warning, "[{Cluster}] queue {Queue}: offset {Offset} moved; continuing at {Next}")]
    public static partial void OffsetMoved(ILogger logger, ClusterRole cluster, string queue, long offset, long next);

    [LoggerMessage(5110, LogLevel.Warning, "[{Cluster}] unregister of {ClientId} from {Address} failed")]
    public static partial void UnregisterFailed(ILogger logger, ClusterRole cluster, string clientId, string address, Exception exception);

    [LoggerMessage(5111, LogLevel.Debug, "[{Cluster}] group {Group}: retry topic {Topic} is not created yet (TOPIC_NOT_EXIST); it is looked up again at the next rebalance")]
    public static partial void RetryTopicNotCreatedYet(ILogger logger, ClusterRole cluster, string group, string topic);

    [LoggerMessage(5112, LogLevel.Warning, "[{Cluster}] The AccessKey and request signatures travel in plaintext to the name servers {NameServers} and their brokers: "
        + "this transport has no TLS. Anyone on the path can read them and replay a captured request; keep the path private (VPN, private network) or use the 5.x gRPC endpoint over TLS")]
    public static partial void CredentialsInPlaintext(ILogger logger, ClusterRole cluster, string nameServers);
}
