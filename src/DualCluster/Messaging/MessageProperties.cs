namespace DualCluster;

/// <summary>Names of the message properties DualCluster reads and writes.</summary>
public static class MessageProperties
{
    /// <summary>
    /// The idempotency key stamped by the producer facade (once, before the first attempt; kept across
    /// retries, failover and mirror writes). Consumers dedupe on it.
    /// </summary>
    public const string IdempotencyKey = "DC_IDEMPOTENCY_KEY";

    /// <summary>W3C trace context of the send, so consumer spans join the producer's trace.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>W3C trace state accompanying <see cref="TraceParent"/>.</summary>
    public const string TraceState = "tracestate";
}
