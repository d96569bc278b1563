namespace DualCluster.Testing;

/// <summary>
/// An <see cref="InMemoryBroker"/> refused a request: an injected fault, a paused cluster, an unknown topic
/// or queue. Transports map it to their own error (the in-memory transport to a <see cref="Transport.ClusterTransportException"/>).
/// </summary>
public sealed class InMemoryBrokerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">One of <see cref="BrokerStatusCodes"/>.</param>
    /// <param name="isTransient">Whether the same request may succeed later.</param>
    /// <param name="message">What happened.</param>
    public InMemoryBrokerException(string statusCode, bool isTransient, string message)
        : base(message)
    {
        StatusCode = statusCode;
        IsTransient = isTransient;
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public InMemoryBrokerException()
        : this(BrokerStatusCodes.InjectedFailure, true, "The in-memory broker refused the request.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InMemoryBrokerException(string message)
        : this(BrokerStatusCodes.InjectedFailure, true, message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public InMemoryBrokerException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = BrokerStatusCodes.InjectedFailure;
        IsTransient = true;
    }

    /// <summary>For <see cref="BrokerStatusCodes.Timeout"/>: the id of the message that was in fact stored, so a retry can reuse it.</summary>
    public string? StoredMessageId { get; init; }

    /// <summary>Why the broker refused: one of <see cref="BrokerStatusCodes"/>.</summary>
    public string StatusCode { get; }

    /// <summary>Whether the same request may succeed later (a paused cluster, an injected transient failure).</summary>
    public bool IsTransient { get; }
}
