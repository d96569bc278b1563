namespace DualCluster;

/// <summary>Base type of the exceptions DualCluster throws for faults (not for bad arguments).</summary>
public class DualClusterException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DualClusterException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public DualClusterException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public DualClusterException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
