namespace DualCluster.Idempotency;

/// <summary>
/// A shared idempotency store could not be reached or failed to answer. Nothing may be acked on its account: the
/// gate leaves the message for redelivery. The inner exception carries the client library's error.
/// </summary>
public sealed class IdempotencyStoreUnavailableException : DualClusterException
{
    /// <summary>Creates the exception.</summary>
    public IdempotencyStoreUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public IdempotencyStoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the client library's error.</summary>
    public IdempotencyStoreUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
