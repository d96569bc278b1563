using Microsoft.Extensions.Logging;

namespace DualCluster.Redis;

/// <summary>Log messages of the Redis package.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Skipped the fleet registry record of node {NodeId}: it is not a fleet record ({Reason}). The node counts as absent until it publishes a valid one.")]
    public static partial void MalformedFleetRecord(ILogger logger, string nodeId, string reason);
}
