using System.Net;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>One stored message as a broker returns it in a PULL body (fact sheet §3.1).</summary>
internal sealed class MessageRecord
{
    public const int MagicV1 = unchecked((int)0xDAA320A7);
    public const int MagicV2 = unchecked((int)0xDAA320AB);

    public int QueueId { get; set; }

    public int Flag { get; set; }

    public long QueueOffset { get; set; }

    public long PhysicalOffset { get; set; }

    public int SysFlag { get; set; }

    public long BornTimestamp { get; set; }

    public IPEndPoint BornHost { get; set; } = new(IPAddress.Loopback, 0);

    public long StoreTimestamp { get; set; }

    public IPEndPoint StoreHost { get; set; } = new(IPAddress.Loopback, 0);

    public int ReconsumeTimes { get; set; }

    public long PreparedTransactionOffset { get; set; }

    public int BodyCrc { get; set; }

    /// <summary>The body as stored (still compressed when <see cref="SysFlag"/> bit 0 is set).</summary>
    public ReadOnlyMemory<byte> Body { get; set; }

    public string Topic { get; set; } = string.Empty;

    public string? PropertiesText { get; set; }

    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The offset message id (§3.3): store host + physical offset, upper-case hex.</summary>
    public string OffsetMessageId => MessageIds.OffsetId(StoreHost, PhysicalOffset);

    /// <summary>The id applications see: <c>UNIQ_KEY</c> when present, else the offset id.</summary>
    public string MessageId => Properties.TryGetValue(MessageConst.UniqKey, out var key) ? key : OffsetMessageId;

    public string? Tag => Properties.TryGetValue(MessageConst.Tags, out var tag) ? tag : null;
}
