namespace DualCluster;

/// <summary>
/// A message to send, independent of the wire protocol. The producer facade sends a stamped copy (its idempotency key
/// and trace context) and leaves this object as it was, so sending the same object twice sends two messages with
/// two keys; a retried, failed-over or mirrored send of one call carries one key (see <see cref="SendResult.IdempotencyKey"/>).
/// </summary>
/// <remarks>Not thread-safe: do not mutate a message while a send of it is in flight.</remarks>
public sealed class OutgoingMessage
{
    private List<string>? _keys;
    private Dictionary<string, string>? _properties;

    /// <summary>Creates a message for <paramref name="topic"/> with the given body.</summary>
    /// <param name="topic">The topic name (letters, digits, <c>%</c>, <c>_</c>, <c>-</c>, <c>|</c>; 1–127 chars).</param>
    /// <param name="body">The payload; must not be empty.</param>
    /// <exception cref="ArgumentException">The topic is empty or whitespace.</exception>
    public OutgoingMessage(string topic, ReadOnlyMemory<byte> body)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        Topic = topic;
        Body = body;
    }

    /// <summary>The topic the message is sent to.</summary>
    public string Topic { get; }

    /// <summary>The payload.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The tag consumers may filter on (no <c>|</c>, not whitespace-only); null for none.</summary>
    public string? Tag { get; set; }

    /// <summary>Business keys (indexed by the broker for look-up).</summary>
    public IList<string> Keys => _keys ??= [];

    /// <summary>User properties. Reserved RocketMQ names are rejected at send time.</summary>
    public IDictionary<string, string> Properties => _properties ??= new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The message group for FIFO ordering within the group; null for a normal message.</summary>
    public string? MessageGroup { get; set; }

    /// <summary>When the message becomes visible to consumers; null to deliver at once.</summary>
    public DateTimeOffset? DeliveryTime { get; set; }

    /// <summary>
    /// The idempotency key consumers dedupe on. Leave null to let the producer facade stamp a unique one;
    /// set it yourself when the business has a natural key (an order id and event type, say).
    /// Carried on the wire as the <see cref="MessageProperties.IdempotencyKey"/> property.
    /// </summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>Whether any business key was added (without allocating the list).</summary>
    public bool HasKeys => _keys is { Count: > 0 };

    /// <summary>Whether any user property was added (without allocating the dictionary).</summary>
    public bool HasProperties => _properties is { Count: > 0 };

    /// <summary>The user properties, or an empty view when none were added (no allocation).</summary>
    public IReadOnlyDictionary<string, string> PropertiesView =>
        _properties is null ? EmptyProperties : _properties;

    /// <summary>The business keys, or an empty list when none were added (no allocation).</summary>
    public IReadOnlyList<string> KeysView => _keys is null ? [] : _keys;

    /// <summary>The copy a send puts on the wire: this message's fields with <paramref name="idempotencyKey"/> and its own property map.</summary>
    internal OutgoingMessage StampedCopy(string idempotencyKey) => new(Topic, Body)
    {
        Tag = Tag,
        MessageGroup = MessageGroup,
        DeliveryTime = DeliveryTime,
        IdempotencyKey = idempotencyKey,
        _keys = _keys,
        _properties = _properties is null ? null : new Dictionary<string, string>(_properties, StringComparer.Ordinal),
    };

    internal static readonly IReadOnlyDictionary<string, string> EmptyProperties =
        new Dictionary<string, string>(StringComparer.Ordinal);
}
