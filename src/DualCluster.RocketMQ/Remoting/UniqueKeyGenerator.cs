using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Client message ids (<c>UNIQ_KEY</c>, fact sheet §4.1): IP, PID (int16), a per-process random int32,
/// ms since the start of the current month (int32) and a wrapping int16 counter, as upper-case hex.
/// Thread-safe.
/// </summary>
internal sealed class UniqueKeyGenerator
{
    private readonly string _fixedHex;
    private readonly TimeProvider _time;
    private int _counter;
    private long _monthStartMs;
    private long _nextMonthStartMs;

    public UniqueKeyGenerator(TimeProvider? time = null, IPAddress? address = null)
    {
        _time = time ?? TimeProvider.System;
        var ip = (address ?? ClientAddress.Local).GetAddressBytes();
        var fixedPart = new byte[ip.Length + 6];
        ip.CopyTo(fixedPart, 0);
        BinaryPrimitives.WriteInt16BigEndian(fixedPart.AsSpan(ip.Length), unchecked((short)Environment.ProcessId));
        BinaryPrimitives.WriteInt32BigEndian(fixedPart.AsSpan(ip.Length + 2), Random.Shared.Next());
        _fixedHex = Convert.ToHexString(fixedPart);
    }

    public string Next()
    {
        var now = _time.GetLocalNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        if (nowMs >= Volatile.Read(ref _nextMonthStartMs))
        {
            var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, now.Offset);
            Volatile.Write(ref _monthStartMs, monthStart.ToUnixTimeMilliseconds());
            Volatile.Write(ref _nextMonthStartMs, monthStart.AddMonths(1).ToUnixTimeMilliseconds());
        }

        Span<byte> tail = stackalloc byte[6];
        BinaryPrimitives.WriteInt32BigEndian(tail, unchecked((int)(nowMs - Volatile.Read(ref _monthStartMs))));
        BinaryPrimitives.WriteInt16BigEndian(tail[4..], unchecked((short)Interlocked.Increment(ref _counter)));
        return string.Concat(_fixedHex, Convert.ToHexString(tail));
    }
}

/// <summary>The client's own IP as Java picks it (§4.2): the first non-loopback IPv4 outside 192.168/16, else any IPv4, else loopback.</summary>
internal static class ClientAddress
{
    private static readonly Lazy<IPAddress> s_local = new(Find);

    public static IPAddress Local => s_local.Value;

    private static IPAddress Find()
    {
        IPAddress? fallback = null;
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up)
                {
                    continue;
                }

                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    var address = unicast.Address;
                    if (address.AddressFamily != AddressFamily.InterNetwork || IPAddress.IsLoopback(address))
                    {
                        continue;
                    }

                    var bytes = address.GetAddressBytes();
                    if (bytes[0] == 192 && bytes[1] == 168)
                    {
                        fallback ??= address;
                        continue;
                    }

                    return address;
                }
            }
        }
        catch (NetworkInformationException)
        {
        }

        return fallback ?? IPAddress.Loopback;
    }
}
