namespace DualCluster.Transport;

/// <summary>
/// Called by a transport consumer for each delivered message. Must not throw: a transport treats an
/// exception as <see cref="ConsumeOutcome.Retry()"/>.
/// </summary>
/// <param name="message">The delivered message.</param>
/// <param name="cancellationToken">Cancelled when the consumer is stopped forcibly; the outcome is then ignored and the message redelivered.</param>
public delegate ValueTask<ConsumeOutcome> ClusterMessageHandler(ReceivedMessage message, CancellationToken cancellationToken);
