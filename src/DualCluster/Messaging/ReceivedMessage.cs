namespace DualCluster;

/// <summary>
/// A message as delivered to a handler: what was sent, plus which cluster delivered it, the broker's
/// message id and which delivery attempt this is. Immutable and thread-safe.
/// </summary>
public sealed class ReceivedMessage
{
    private static readonly IReadOnlyList<string> NoKeys = [];

    /// <summary>Creates a received-message view. Transports call this; handlers only read it.</summary>
    /// <exception cref="ArgumentException">A required string is null or empty, or <paramref name="deliveryAttempt"/> is below 1.</exception>
    public ReceivedMessage(
        ClusterRole cluster,
        string topic,
        string messageId,
        ReadOnlyMemory<byte> body,
        int deliveryAttempt,
        string? tag = null,
        IReadOnlyList<string>? keys = null,
        IReadOnlyDictionary<string, string>? properties = null,
        string? messageGroup = null,
        DateTimeOffset? bornTime = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentOutOfRangeException.ThrowIfLessThan(deliveryAttempt, 1);
        Cluster = cluster;
        Topic = topic;
        MessageId = messageId;
        Body = body;
        DeliveryAttempt = deliveryAttempt;
        Tag = tag;
        Keys = keys ?? NoKeys;
        Properties = properties ?? OutgoingMessage.EmptyProperties;
        MessageGroup = messageGroup;
        BornTime = bornTime;
    }

    /// <summary>The cluster that delivered this message.</summary>
    public ClusterRole Cluster { get; }

    /// <summary>The topic it was sent to.</summary>
    public string Topic { get; }

    /// <summary>The broker-visible message id (5.x message id / 4.x UNIQ_KEY). Differs between clusters for a mirrored message.</summary>
    public string MessageId { get; }

    /// <summary>The payload.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>1 for the first delivery, 2 for the first redelivery, and so on.</summary>
    public int DeliveryAttempt { get; }

    /// <summary>The tag, if any.</summary>
    public string? Tag { get; }

    /// <summary>Business keys.</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>User properties, including <see cref="MessageProperties.IdempotencyKey"/> when the sender stamped one.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>The FIFO message group, if any.</summary>
    public string? MessageGroup { get; }

    /// <summary>When the producer created the message, if the broker reports it.</summary>
    public DateTimeOffset? BornTime { get; }

    /// <summary>The idempotency key the producer stamped, or null when the sender did not use DualCluster.</summary>
    public string? IdempotencyKey =>
        Properties.TryGetValue(MessageProperties.IdempotencyKey, out var key) && key.Length > 0 ? key : null;
}
