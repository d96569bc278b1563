namespace DualCluster.RocketMQ.Remoting;

/// <summary>How a frame's header is encoded: the high byte of the header-length field (fact sheet §1.1).</summary>
internal enum SerializeType : byte
{
    /// <summary>UTF-8 JSON object.</summary>
    Json = 0,

    /// <summary>The compact ROCKETMQ binary header (§1.4).</summary>
    RocketMQ = 1,
}
