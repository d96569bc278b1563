using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Net;
using System.Text;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Reads and writes stored-message records (fact sheet §3.1–§3.6): V1 and V2 magic, IPv4 and IPv6
/// hosts, zlib bodies.
/// </summary>
internal static class MessageRecordCodec
{
    public const int CompressedFlag = 0x1;
    public const int BornHostV6Flag = 0x10;
    public const int StoreHostV6Flag = 0x20;
    public const int CompressionTypeMask = 0x700;
    public const int ZlibCompressionType = 0x300;

    /// <summary>Decodes records back to back until <paramref name="body"/> is exhausted; stops at the first undecodable one.</summary>
    public static List<MessageRecord> DecodeAll(ReadOnlyMemory<byte> body)
    {
        var records = new List<MessageRecord>();
        var position = 0;
        while (position + 4 <= body.Length)
        {
            var size = BinaryPrimitives.ReadInt32BigEndian(body.Span[position..]);
            if (size <= 0 || position + size > body.Length)
            {
                break;
            }

            var record = TryDecode(body.Slice(position, size));
            if (record is null)
            {
                break;
            }

            records.Add(record);
            position += size;
        }

        return records;
    }

    /// <summary>Decodes one record; null when it is malformed.</summary>
    public static MessageRecord? TryDecode(ReadOnlyMemory<byte> memory)
    {
        var span = memory.Span;
        try
        {
            var magic = BinaryPrimitives.ReadInt32BigEndian(span[4..]);
            if (magic != MessageRecord.MagicV1 && magic != MessageRecord.MagicV2)
            {
                return null;
            }

            var record = new MessageRecord
            {
                BodyCrc = BinaryPrimitives.ReadInt32BigEndian(span[8..]),
                QueueId = BinaryPrimitives.ReadInt32BigEndian(span[12..]),
                Flag = BinaryPrimitives.ReadInt32BigEndian(span[16..]),
                QueueOffset = BinaryPrimitives.ReadInt64BigEndian(span[20..]),
                PhysicalOffset = BinaryPrimitives.ReadInt64BigEndian(span[28..]),
                SysFlag = BinaryPrimitives.ReadInt32BigEndian(span[36..]),
                BornTimestamp = BinaryPrimitives.ReadInt64BigEndian(span[40..]),
            };
            var position = 48;
            record.BornHost = ReadHost(span, ref position, (record.SysFlag & BornHostV6Flag) != 0);
            record.StoreTimestamp = BinaryPrimitives.ReadInt64BigEndian(span[position..]);
            position += 8;
            record.StoreHost = ReadHost(span, ref position, (record.SysFlag & StoreHostV6Flag) != 0);
            record.ReconsumeTimes = BinaryPrimitives.ReadInt32BigEndian(span[position..]);
            record.PreparedTransactionOffset = BinaryPrimitives.ReadInt64BigEndian(span[(position + 4)..]);
            var bodyLength = BinaryPrimitives.ReadInt32BigEndian(span[(position + 12)..]);
            position += 16;
            if (bodyLength < 0 || position + bodyLength > span.Length)
            {
                return null;
            }

            var body = memory.Slice(position, bodyLength);
            position += bodyLength;
            if ((record.SysFlag & CompressedFlag) != 0)
            {
                body = Decompress(body, record.SysFlag);
                record.SysFlag &= ~(CompressedFlag | CompressionTypeMask);
            }

            record.Body = body;
            int topicLength;
            if (magic == MessageRecord.MagicV2)
            {
                topicLength = BinaryPrimitives.ReadInt16BigEndian(span[position..]);
                position += 2;
            }
            else
            {
                topicLength = (sbyte)span[position];
                position += 1;
            }

            record.Topic = Encoding.UTF8.GetString(span.Slice(position, topicLength));
            position += topicLength;
            var propertiesLength = BinaryPrimitives.ReadInt16BigEndian(span[position..]);
            position += 2;
            if (propertiesLength > 0)
            {
                record.PropertiesText = Encoding.UTF8.GetString(span.Slice(position, propertiesLength));
                record.Properties = MessagePropertyCodec.Decode(record.PropertiesText);
            }

            return record;
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>Writes <paramref name="record"/> in V1 layout (V2 when the topic exceeds 127 bytes); the body is written as given.</summary>
    public static void Encode(MessageRecord record, FrameBuffer output)
    {
        var topic = Encoding.UTF8.GetBytes(record.Topic);
        var properties = record.PropertiesText is { Length: > 0 } text ? Encoding.UTF8.GetBytes(text) : [];
        var bornHost = record.BornHost.Address.GetAddressBytes();
        var storeHost = record.StoreHost.Address.GetAddressBytes();
        var v2 = topic.Length > 127;
        var sysFlag = record.SysFlag & ~(BornHostV6Flag | StoreHostV6Flag);
        sysFlag |= bornHost.Length == 16 ? BornHostV6Flag : 0;
        sysFlag |= storeHost.Length == 16 ? StoreHostV6Flag : 0;
        var total = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + bornHost.Length + 4 + 8 + storeHost.Length + 4 + 4 + 8
            + 4 + record.Body.Length + (v2 ? 2 : 1) + topic.Length + 2 + properties.Length;
        var span = output.GetSpan(total);
        BinaryPrimitives.WriteInt32BigEndian(span, total);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], v2 ? MessageRecord.MagicV2 : MessageRecord.MagicV1);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], record.BodyCrc);
        BinaryPrimitives.WriteInt32BigEndian(span[12..], record.QueueId);
        BinaryPrimitives.WriteInt32BigEndian(span[16..], record.Flag);
        BinaryPrimitives.WriteInt64BigEndian(span[20..], record.QueueOffset);
        BinaryPrimitives.WriteInt64BigEndian(span[28..], record.PhysicalOffset);
        BinaryPrimitives.WriteInt32BigEndian(span[36..], sysFlag);
        BinaryPrimitives.WriteInt64BigEndian(span[40..], record.BornTimestamp);
        var position = 48;
        bornHost.CopyTo(span[position..]);
        position += bornHost.Length;
        BinaryPrimitives.WriteInt32BigEndian(span[position..], record.BornHost.Port);
        position += 4;
        BinaryPrimitives.WriteInt64BigEndian(span[position..], record.StoreTimestamp);
        position += 8;
        storeHost.CopyTo(span[position..]);
        position += storeHost.Length;
        BinaryPrimitives.WriteInt32BigEndian(span[position..], record.StoreHost.Port);
        position += 4;
        BinaryPrimitives.WriteInt32BigEndian(span[position..], record.ReconsumeTimes);
        BinaryPrimitives.WriteInt64BigEndian(span[(position + 4)..], record.PreparedTransactionOffset);
        BinaryPrimitives.WriteInt32BigEndian(span[(position + 12)..], record.Body.Length);
        position += 16;
        record.Body.Span.CopyTo(span[position..]);
        position += record.Body.Length;
        if (v2)
        {
            BinaryPrimitives.WriteInt16BigEndian(span[position..], (short)topic.Length);
            position += 2;
        }
        else
        {
            span[position++] = (byte)topic.Length;
        }

        topic.CopyTo(span[position..]);
        position += topic.Length;
        BinaryPrimitives.WriteInt16BigEndian(span[position..], (short)properties.Length);
        position += 2;
        properties.CopyTo(span[position..]);
        output.Advance(total);
    }

    /// <summary>CRC32 of <paramref name="body"/> masked with 0x7FFFFFFF (BODYCRC, §3.1).</summary>
    public static int BodyCrc(ReadOnlySpan<byte> body) => (int)(Crc32.HashToUInt32(body) & 0x7FFFFFFF);

    /// <summary>zlib-wraps <paramref name="body"/> (Java's ZLIB, not raw deflate: §9 risk 5).</summary>
    public static byte[] Compress(ReadOnlySpan<byte> body)
    {
        using var output = new MemoryStream(body.Length / 2 + 64);
        using (var zlib = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(body);
        }

        return output.ToArray();
    }

    public static ReadOnlyMemory<byte> Decompress(ReadOnlyMemory<byte> body, int sysFlag)
    {
        var type = sysFlag & CompressionTypeMask;
        if (type != 0 && type != ZlibCompressionType)
        {
            throw new InvalidDataException($"Message compressed with type 0x{type:X} (LZ4/ZSTD) is not supported; only ZLIB is.");
        }

        using var input = new MemoryStream(body.ToArray(), writable: false);
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream(body.Length * 4);
        zlib.CopyTo(output);
        return output.ToArray();
    }

    private static IPEndPoint ReadHost(ReadOnlySpan<byte> span, ref int position, bool v6)
    {
        var length = v6 ? 16 : 4;
        var address = new IPAddress(span.Slice(position, length));
        var port = BinaryPrimitives.ReadInt32BigEndian(span[(position + length)..]);
        position += length + 4;
        return new IPEndPoint(address, port);
    }
}
