using System.Globalization;

namespace DualCluster.Testing;

/// <summary>
/// One message popped by a consumer group: invisible to the group until <see cref="InvisibleUntil"/>, then
/// redelivered unless acked. Immutable and thread-safe.
/// </summary>
public sealed class PopDelivery
{
    private string? _receiptHandle;

    internal PopDelivery(StoredMessage message, int deliveryAttempt, long handleId, DateTimeOffset invisibleUntil, object subscription)
    {
        Message = message;
        DeliveryAttempt = deliveryAttempt;
        HandleId = handleId;
        InvisibleUntil = invisibleUntil;
        Subscription = subscription;
    }

    /// <summary>The message.</summary>
    public StoredMessage Message { get; }

    /// <summary>1 for the first delivery to the group, 2 for the first redelivery, and so on.</summary>
    public int DeliveryAttempt { get; }

    /// <summary>When the broker makes the message visible again if it is not acked.</summary>
    public DateTimeOffset InvisibleUntil { get; }

    /// <summary>
    /// The handle that acks this delivery or changes its invisible duration. It goes stale once the message is
    /// acked, its invisible duration is changed (which issues a new handle) or its deadline passes.
    /// </summary>
    public string ReceiptHandle => _receiptHandle ??= FormatHandle(HandleId);

    internal long HandleId { get; }

    internal object Subscription { get; }

    internal static string FormatHandle(long handleId) => "rh-" + handleId.ToString("x", CultureInfo.InvariantCulture);

    internal static bool TryParseHandle(string? handle, out long handleId)
    {
        handleId = 0;
        return handle is not null
            && handle.StartsWith("rh-", StringComparison.Ordinal)
            && long.TryParse(handle.AsSpan(3), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out handleId);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Message} attempt {DeliveryAttempt} ({ReceiptHandle})";
}
