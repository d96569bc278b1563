using Microsoft.Extensions.Logging;

namespace DualCluster.PostgreSql;

/// <summary>Log messages of the PostgreSQL store and fleet registry.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Deleted {Count} expired idempotency records.")]
    public static partial void DeletedExpired(ILogger logger, long count);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Deleting expired idempotency records failed; the next cleanup tries again.")]
    public static partial void CleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Skipped the fleet registry record of node {NodeId}: it is not a fleet record ({Reason}). The node counts as absent until it publishes a valid one.")]
    public static partial void MalformedFleetRecord(ILogger logger, string nodeId, string reason);
}
