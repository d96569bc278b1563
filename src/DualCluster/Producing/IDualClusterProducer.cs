namespace DualCluster;

/// <summary>
/// Sends messages to the cluster this node's routing currently targets. Register with
/// <c>AddDualCluster(...).AddProducer()</c>. Thread-safe; a routing change applies to the next send,
/// sends already in flight complete on their cluster.
/// </summary>
public interface IDualClusterProducer
{
    /// <summary>
    /// Stamps an idempotency key (the message's own <see cref="OutgoingMessage.IdempotencyKey"/>, else a new unique one)
    /// and the trace context on a copy of <paramref name="message"/> (the object passed in is left unchanged), then sends it to the
    /// current target with timeout, retry on transient errors and circuit breaking; with
    /// <c>Producer:Mirror</c> also to the other cluster; with <c>Producer:Failover=OtherCluster</c> to the
    /// other cluster when the target fails and the guard says the other cluster has readers.
    /// Completes only when a broker acknowledged the message.
    /// </summary>
    /// <exception cref="ArgumentException">The message breaks a client-side limit (no I/O was done).</exception>
    /// <exception cref="Transport.ClusterTransportException">The target (and the failover target, if allowed) refused or could not be reached.</exception>
    /// <exception cref="Polly.CircuitBreaker.BrokenCircuitException">The target's breaker is open and failover is not allowed.</exception>
    /// <exception cref="Polly.Timeout.TimeoutRejectedException">The last attempt timed out.</exception>
    ValueTask<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default);
}
