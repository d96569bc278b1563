namespace DualCluster.Fleet;

/// <summary>
/// The fleet registry could not be reached or failed to answer. The guard then moves nothing: every node keeps its
/// last proven routing and says what it is waiting for. The inner exception carries the client library's error.
/// </summary>
public sealed class FleetRegistryUnavailableException : DualClusterException
{
    /// <summary>Creates the exception.</summary>
    public FleetRegistryUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public FleetRegistryUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the client library's error.</summary>
    public FleetRegistryUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
