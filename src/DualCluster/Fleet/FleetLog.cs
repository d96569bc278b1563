using Microsoft.Extensions.Logging;

namespace DualCluster.Fleet;

internal static partial class FleetLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "No fleet registry is registered: the safe-order guard decides on the configuration only (weights and overrides), not on which groups hold a position or which producers still write a cluster. For a fleet, register one (UseRedisFleetRegistry, UsePostgreSqlFleetRegistry or UseFleetRegistry).")]
    public static partial void ConfigurationOnly(ILogger logger);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Fleet registry read on node {NodeId}: {LiveNodes} live node(s); the guard decides on these facts")]
    public static partial void FactsAvailable(ILogger logger, string nodeId, int liveNodes);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Fleet facts unavailable on node {NodeId}: nothing moves, the node keeps its last proven routing until they are back. {Reason}")]
    public static partial void FactsUnavailable(ILogger logger, Exception? exception, string nodeId, string reason);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Topic {Topic} stays on {Cluster}: {Reason}")]
    public static partial void Held(ILogger logger, string topic, ClusterRole cluster, string reason);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Topic {Topic} now goes to {Cluster}: {Reason}")]
    public static partial void Moved(ILogger logger, string topic, ClusterRole cluster, string reason);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Could not remove node {NodeId} from the fleet registry on stop; its record lapses after its time to live")]
    public static partial void RemoveFailed(ILogger logger, Exception exception, string nodeId);
}
