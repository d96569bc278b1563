namespace DualCluster.Transport;

/// <summary>Sends messages to one cluster. Thread-safe.</summary>
public interface IClusterProducer
{
    /// <summary>
    /// Sends <paramref name="message"/> and completes when the broker acknowledged storing it.
    /// The message id a transport generates must be derived once per message and reused if the same
    /// <see cref="OutgoingMessage"/> is sent again (retries).
    /// </summary>
    /// <returns>The broker's receipt.</returns>
    /// <exception cref="ArgumentException">The message breaks a client-side limit (before any I/O).</exception>
    /// <exception cref="ClusterTransportException">The broker refused the message or could not be reached;
    /// <see cref="ClusterTransportException.IsTransient"/> tells whether a retry may succeed.</exception>
    ValueTask<SendReceipt> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default);
}
