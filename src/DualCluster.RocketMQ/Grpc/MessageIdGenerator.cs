using System.Buffers.Binary;
using System.Net.NetworkInformation;
using System.Security.Cryptography;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// Client-generated "V1" message ids of fact sheet §5.1: 17 bytes as 34 upper-case hex characters —
/// version 0x01, MAC (6), low 2 bytes of the pid, seconds since 2021-01-01Z (4), sequence (4). Thread-safe.
/// </summary>
internal sealed class MessageIdGenerator
{
    private static readonly DateTimeOffset Epoch = new(2021, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly byte[] _prefix = new byte[9];
    private readonly TimeProvider _time;
    private int _sequence;

    /// <summary>Creates a generator for this process (MAC of the first up, non-loopback NIC, or random).</summary>
    public MessageIdGenerator(TimeProvider time)
        : this(time, LocalMac(), ClientIdentity.ProcessId, 0)
    {
    }

    /// <summary>Creates a generator with explicit process parts (tests).</summary>
    public MessageIdGenerator(TimeProvider time, ReadOnlySpan<byte> mac, int processId, int lastSequence)
    {
        _time = time;
        _prefix[0] = 0x01;
        mac[..6].CopyTo(_prefix.AsSpan(1));
        BinaryPrimitives.WriteUInt16BigEndian(_prefix.AsSpan(7), unchecked((ushort)processId));
        _sequence = lastSequence;
    }

    /// <summary>The next id.</summary>
    public string Next()
    {
        Span<byte> id = stackalloc byte[17];
        _prefix.CopyTo(id);
        var seconds = (long)(_time.GetUtcNow() - Epoch).TotalSeconds;
        BinaryPrimitives.WriteUInt32BigEndian(id[9..], unchecked((uint)seconds));
        BinaryPrimitives.WriteInt32BigEndian(id[13..], Interlocked.Increment(ref _sequence));
        return Convert.ToHexString(id);
    }

    private static byte[] LocalMac()
    {
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus == OperationalStatus.Up && nic.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                {
                    var bytes = nic.GetPhysicalAddress().GetAddressBytes();
                    if (bytes.Length >= 6)
                    {
                        return bytes[..6];
                    }
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Fall through to a random address, as the official clients do.
        }

        return RandomNumberGenerator.GetBytes(6);
    }
}
