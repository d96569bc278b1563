namespace DualCluster;

/// <summary>What a handler gets for one delivery.</summary>
public sealed class MessageContext
{
    internal MessageContext(ReceivedMessage message, string consumerGroup, string idempotencyKey, long fencingToken, string nodeId, IServiceProvider services)
    {
        Message = message;
        ConsumerGroup = consumerGroup;
        IdempotencyKey = idempotencyKey;
        FencingToken = fencingToken;
        NodeId = nodeId;
        Services = services;
    }

    /// <summary>The delivered message (which cluster, which attempt, body, properties).</summary>
    public ReceivedMessage Message { get; }

    /// <summary>The consumer group of this registration.</summary>
    public string ConsumerGroup { get; }

    /// <summary>
    /// The key the gate deduplicates on: the producer's stamp, else the registration's key selector, else
    /// the message id. The store holds it scoped to the group (<c>{group}:{key}</c>, see <see cref="StoreKey"/>).
    /// </summary>
    public string IdempotencyKey { get; }

    /// <summary>The key as written to the idempotency store.</summary>
    public string StoreKey => ConsumerGroup + ":" + IdempotencyKey;

    /// <summary>
    /// The fencing token of this node's claim on <see cref="StoreKey"/>; 0 when idempotency is off. A store
    /// that supports completing inside the handler's own transaction needs it.
    /// </summary>
    public long FencingToken { get; }

    /// <summary>The node processing the message.</summary>
    public string NodeId { get; }

    /// <summary>The DI scope of this delivery.</summary>
    public IServiceProvider Services { get; }
}
