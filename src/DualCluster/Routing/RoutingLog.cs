using Microsoft.Extensions.Logging;

namespace DualCluster.Routing;

internal static partial class RoutingLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "DualCluster node {NodeId} (bucket {Bucket}): producer -> {Producer}{MirrorNote}, consumers read {Consumers}")]
    public static partial void Started(ILogger logger, string nodeId, int bucket, ClusterRole producer, string mirrorNote, ClusterSet consumers);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Routing changed on node {NodeId}: producer {OldProducer} -> {NewProducer}, consumers {OldConsumers} -> {NewConsumers} (version {Version})")]
    public static partial void Changed(ILogger logger, string nodeId, ClusterRole oldProducer, ClusterRole newProducer, ClusterSet oldConsumers, ClusterSet newConsumers, long version);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Configuration reload rejected on node {NodeId}; keeping the last valid routing (version {Version}). {Reason}")]
    public static partial void Rejected(ILogger logger, string nodeId, long version, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "Configuration reloaded on node {NodeId} without a routing change")]
    public static partial void Unchanged(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "DualCluster:Clusters:{Role} connection settings changed; they take effect after a restart")]
    public static partial void ConnectionChangeIgnored(ILogger logger, ClusterRole role);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "DualCluster:NodeId changed to '{NewNodeId}'; the node keeps id '{NodeId}' until a restart")]
    public static partial void NodeIdChangeIgnored(ILogger logger, string nodeId, string newNodeId);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "DualCluster configuration: {Warning}")]
    public static partial void ConfigurationWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Error, Message = "A routing change subscriber failed on node {NodeId} (version {Version}); the change stays applied")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception, string nodeId, long version);
}
