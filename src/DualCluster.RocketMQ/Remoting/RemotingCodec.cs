using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Encodes and decodes remoting frames (fact sheet §1.1–§1.4): a big-endian length prefix, a JSON or
/// ROCKETMQ binary header, then the body. Reads both header types whatever the writer chose.
/// </summary>
internal static class RemotingCodec
{
    /// <summary>Largest frame a peer accepts (16 MiB, §1.1).</summary>
    public const int MaxFrameLength = 16 * 1024 * 1024;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    [ThreadStatic]
    private static Utf8JsonWriter? t_jsonWriter;

    /// <summary>Appends the whole frame of <paramref name="command"/> (length prefix included) to <paramref name="output"/>.</summary>
    /// <exception cref="InvalidOperationException">The frame would exceed <see cref="MaxFrameLength"/>.</exception>
    public static void Encode(RemotingCommand command, FrameBuffer output)
    {
        var start = output.WrittenCount;
        output.GetSpan(8);
        output.Advance(8);
        if (command.SerializeType == SerializeType.RocketMQ)
        {
            WriteBinaryHeader(command, output);
        }
        else
        {
            WriteJsonHeader(command, output);
        }

        var headerLength = output.WrittenCount - start - 8;
        output.Write(command.Body.Span);
        var total = output.WrittenCount - start - 4;
        if (total > MaxFrameLength)
        {
            throw new InvalidOperationException($"Remoting frame of {total} bytes exceeds the {MaxFrameLength}-byte limit.");
        }

        var prefix = output.WrittenSpan.Slice(start, 8);
        BinaryPrimitives.WriteInt32BigEndian(prefix, total);
        BinaryPrimitives.WriteInt32BigEndian(prefix[4..], ((int)command.SerializeType << 24) | headerLength);
    }

    /// <summary>Encodes one frame into a new array.</summary>
    public static byte[] EncodeToArray(RemotingCommand command)
    {
        using var buffer = new FrameBuffer();
        Encode(command, buffer);
        return buffer.ToArray();
    }

    /// <summary>
    /// Decodes a frame given the bytes that follow its 4-byte length prefix. The body aliases
    /// <paramref name="frame"/> (no copy).
    /// </summary>
    /// <exception cref="InvalidDataException">The frame is malformed.</exception>
    public static RemotingCommand Decode(ReadOnlyMemory<byte> frame)
    {
        var span = frame.Span;
        if (span.Length < 4)
        {
            throw new InvalidDataException("Remoting frame shorter than its header-length field.");
        }

        var lengthAndType = BinaryPrimitives.ReadInt32BigEndian(span);
        var type = (SerializeType)((lengthAndType >> 24) & 0xFF);
        var headerLength = lengthAndType & 0xFFFFFF;
        if (headerLength > span.Length - 4)
        {
            throw new InvalidDataException($"Remoting header length {headerLength} exceeds the frame ({span.Length - 4} bytes left).");
        }

        var header = span.Slice(4, headerLength);
        var command = type switch
        {
            SerializeType.Json => ReadJsonHeader(header),
            SerializeType.RocketMQ => ReadBinaryHeader(header),
            _ => throw new InvalidDataException($"Unknown remoting serialize type {(int)type}."),
        };
        command.SerializeType = type;
        command.Body = frame[(4 + headerLength)..];
        return command;
    }

    private static void WriteJsonHeader(RemotingCommand command, FrameBuffer output)
    {
        var writer = t_jsonWriter;
        if (writer is null)
        {
            writer = t_jsonWriter = new Utf8JsonWriter(output, WriterOptions);
        }
        else
        {
            writer.Reset(output);
        }

        // Keys in Java's (alphabetical) order, so frames match the reference byte for byte (§1.2, §8).
        writer.WriteStartObject();
        writer.WriteNumber("code"u8, command.Code);
        if (command.ExtFields is { } ext)
        {
            writer.WriteStartObject("extFields"u8);
            foreach (var (key, value) in ext)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        writer.WriteNumber("flag"u8, command.Flag);
        writer.WriteString("language"u8, LanguageCode.ToName(command.Language));
        writer.WriteNumber("opaque"u8, command.Opaque);
        if (command.Remark is { } remark)
        {
            writer.WriteString("remark"u8, remark);
        }

        writer.WriteString("serializeTypeCurrentRPC"u8, "JSON"u8);
        writer.WriteNumber("version"u8, command.Version);
        writer.WriteEndObject();
        writer.Flush();
        writer.Reset(Stream.Null);
    }

    private static RemotingCommand ReadJsonHeader(ReadOnlySpan<byte> header)
    {
        var command = new RemotingCommand();
        var reader = new Utf8JsonReader(header);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException("Remoting JSON header is not an object.");
        }

        try
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = KeyOf(ref reader);
                reader.Read();
                switch (name)
                {
                    case JsonHeaderKey.Code: command.Code = ReadInt(ref reader); break;
                    case JsonHeaderKey.Flag: command.Flag = ReadInt(ref reader); break;
                    case JsonHeaderKey.Opaque: command.Opaque = ReadInt(ref reader); break;
                    case JsonHeaderKey.Version: command.Version = ReadInt(ref reader); break;
                    case JsonHeaderKey.Language:
                        command.Language = reader.TokenType == JsonTokenType.Number ? (byte)reader.GetInt32() : LanguageCode.FromName(reader.GetString());
                        break;
                    case JsonHeaderKey.Remark: command.Remark = reader.TokenType == JsonTokenType.Null ? null : reader.GetString(); break;
                    case JsonHeaderKey.ExtFields:
                        if (reader.TokenType == JsonTokenType.StartObject)
                        {
                            var ext = new Dictionary<string, string>(StringComparer.Ordinal);
                            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                            {
                                var key = reader.GetString()!;
                                reader.Read();
                                switch (reader.TokenType)
                                {
                                    case JsonTokenType.String: ext[key] = reader.GetString()!; break;
                                    case JsonTokenType.Null: break;
                                    case JsonTokenType.StartObject or JsonTokenType.StartArray: reader.Skip(); break;
                                    default: ext[key] = Encoding.UTF8.GetString(reader.ValueSpan); break;
                                }
                            }

                            command.ExtFields = ext;
                        }
                        else
                        {
                            reader.Skip();
                        }

                        break;
                    default: reader.Skip(); break;
                }
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException("Remoting JSON header is malformed.", ex);
        }

        return command;
    }

    /// <summary>The header's top-level keys, matched without allocating a string per key.</summary>
    private enum JsonHeaderKey
    {
        Other,
        Code,
        Flag,
        Opaque,
        Version,
        Language,
        Remark,
        ExtFields,
    }

    private static JsonHeaderKey KeyOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("code"u8) ? JsonHeaderKey.Code
        : reader.ValueTextEquals("flag"u8) ? JsonHeaderKey.Flag
        : reader.ValueTextEquals("opaque"u8) ? JsonHeaderKey.Opaque
        : reader.ValueTextEquals("version"u8) ? JsonHeaderKey.Version
        : reader.ValueTextEquals("language"u8) ? JsonHeaderKey.Language
        : reader.ValueTextEquals("remark"u8) ? JsonHeaderKey.Remark
        : reader.ValueTextEquals("extFields"u8) ? JsonHeaderKey.ExtFields
        : JsonHeaderKey.Other;

    private static int ReadInt(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String ? int.Parse(reader.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : reader.GetInt32();

    private static void WriteBinaryHeader(RemotingCommand command, FrameBuffer output)
    {
        var remarkLength = command.Remark is null ? 0 : Encoding.UTF8.GetByteCount(command.Remark);
        var extLength = 0;
        if (command.ExtFields is { } fields)
        {
            foreach (var (key, value) in fields)
            {
                extLength += 2 + Encoding.UTF8.GetByteCount(key) + 4 + Encoding.UTF8.GetByteCount(value);
            }
        }

        var length = 21 + remarkLength + extLength;
        var span = output.GetSpan(length);
        BinaryPrimitives.WriteInt16BigEndian(span, (short)command.Code);
        span[2] = command.Language;
        BinaryPrimitives.WriteInt16BigEndian(span[3..], (short)command.Version);
        BinaryPrimitives.WriteInt32BigEndian(span[5..], command.Opaque);
        BinaryPrimitives.WriteInt32BigEndian(span[9..], command.Flag);
        BinaryPrimitives.WriteInt32BigEndian(span[13..], remarkLength);
        var position = 17;
        if (command.Remark is { } remark)
        {
            position += Encoding.UTF8.GetBytes(remark, span[position..]);
        }

        BinaryPrimitives.WriteInt32BigEndian(span[position..], extLength);
        position += 4;
        if (command.ExtFields is { } ext)
        {
            foreach (var (key, value) in ext)
            {
                var keyLength = Encoding.UTF8.GetBytes(key, span[(position + 2)..]);
                BinaryPrimitives.WriteInt16BigEndian(span[position..], (short)keyLength);
                position += 2 + keyLength;
                var valueLength = Encoding.UTF8.GetBytes(value, span[(position + 4)..]);
                BinaryPrimitives.WriteInt32BigEndian(span[position..], valueLength);
                position += 4 + valueLength;
            }
        }

        output.Advance(position);
    }

    private static RemotingCommand ReadBinaryHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < 21)
        {
            throw new InvalidDataException($"ROCKETMQ binary header of {header.Length} bytes is shorter than the 21-byte minimum.");
        }

        var command = new RemotingCommand
        {
            Code = BinaryPrimitives.ReadInt16BigEndian(header),
            Language = header[2],
            Version = BinaryPrimitives.ReadInt16BigEndian(header[3..]),
            Opaque = BinaryPrimitives.ReadInt32BigEndian(header[5..]),
            Flag = BinaryPrimitives.ReadInt32BigEndian(header[9..]),
        };
        var position = 13;
        var remarkLength = ReadLength(header, ref position, 4);
        if (remarkLength > 0)
        {
            command.Remark = Encoding.UTF8.GetString(Take(header, ref position, remarkLength));
        }

        var extLength = ReadLength(header, ref position, 4);
        if (extLength > 0)
        {
            var ext = Take(header, ref position, extLength);
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            var p = 0;
            while (p < ext.Length)
            {
                var keyLength = ReadLength(ext, ref p, 2);
                var key = Encoding.UTF8.GetString(Take(ext, ref p, keyLength));
                var valueLength = ReadLength(ext, ref p, 4);
                var value = Take(ext, ref p, valueLength);

                // A zero-length value decodes as null on Java (§1.4): the key is present without a value.
                if (valueLength > 0)
                {
                    fields[key] = Encoding.UTF8.GetString(value);
                }
            }

            command.ExtFields = fields;
        }

        return command;
    }

    private static int ReadLength(ReadOnlySpan<byte> span, ref int position, int size)
    {
        if (position + size > span.Length)
        {
            throw new InvalidDataException("ROCKETMQ binary header is truncated.");
        }

        var value = size == 2 ? BinaryPrimitives.ReadInt16BigEndian(span[position..]) : BinaryPrimitives.ReadInt32BigEndian(span[position..]);
        position += size;
        if (value < 0 || position + value > span.Length)
        {
            throw new InvalidDataException($"ROCKETMQ binary header has a length {value} beyond its end.");
        }

        return value;
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> span, ref int position, int count)
    {
        var slice = span.Slice(position, count);
        position += count;
        return slice;
    }
}
