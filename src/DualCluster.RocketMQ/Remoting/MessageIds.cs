using System.Buffers.Binary;
using System.Net;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>Offset message ids (fact sheet §3.3).</summary>
internal static class MessageIds
{
    public static string OffsetId(IPEndPoint storeHost, long physicalOffset)
    {
        var ip = storeHost.Address.GetAddressBytes();
        Span<byte> bytes = stackalloc byte[ip.Length + 12];
        ip.CopyTo(bytes);
        BinaryPrimitives.WriteInt32BigEndian(bytes[ip.Length..], storeHost.Port);
        BinaryPrimitives.WriteInt64BigEndian(bytes[(ip.Length + 4)..], physicalOffset);
        return Convert.ToHexString(bytes);
    }
}
