using System.IO.Compression;
using System.Security.Cryptography;
using Apache.Rocketmq.V2;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>Turns a delivered 5.x <see cref="Message"/> into a <see cref="ReceivedMessage"/>: digest check and body decoding (fact sheet §5.3, §5.4).</summary>
internal static class DeliveredMessage
{
    /// <summary>
    /// Decodes <paramref name="message"/>; returns null and the view on success, else why it is corrupted (the caller
    /// asks for redelivery, as the official push consumer does).
    /// </summary>
    public static string? Decode(ClusterRole role, string subscribedTopic, Message message, int deliveryAttempt, out ReceivedMessage? received)
    {
        received = null;
        var system = message.SystemProperties;
        if (system is null || string.IsNullOrEmpty(system.MessageId))
        {
            return "no message id";
        }

        var raw = message.Body.Memory;
        if (system.BodyDigest is { } digest && !DigestMatches(digest, raw.Span))
        {
            return $"body digest {digest.Type} mismatch";
        }

        var body = raw;
        if (system.BodyEncoding == Apache.Rocketmq.V2.Encoding.Gzip)
        {
            if (Inflate(raw) is not { } inflated)
            {
                return "body flagged compressed but neither gzip nor zlib";
            }

            body = inflated;
        }

        received = new ReceivedMessage(
            role,
            string.IsNullOrEmpty(message.Topic?.Name) ? subscribedTopic : message.Topic.Name,
            system.MessageId,
            body,
            Math.Max(1, deliveryAttempt),
            system.HasTag ? system.Tag : null,
            system.Keys.Count == 0 ? null : [.. system.Keys],
            message.UserProperties.Count == 0 ? null : new Dictionary<string, string>(message.UserProperties, StringComparer.Ordinal),
            system.HasMessageGroup ? system.MessageGroup : null,
            system.BornTimestamp?.ToDateTimeOffset());
        return null;
    }

    /// <summary>Whether the checksum matches the body as transmitted (§5.3: compared as upper-case hex; CRC32 unpadded).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Primitives", Justification = "Integrity check mandated by the RocketMQ protocol, not security.")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "Integrity check mandated by the RocketMQ protocol, not security.")]
    public static bool DigestMatches(Digest digest, ReadOnlySpan<byte> body) => digest.Type switch
    {
        DigestType.Md5 => string.Equals(Convert.ToHexString(MD5.HashData(body)), digest.Checksum, StringComparison.OrdinalIgnoreCase),
        DigestType.Sha1 => string.Equals(Convert.ToHexString(SHA1.HashData(body)), digest.Checksum, StringComparison.OrdinalIgnoreCase),
        // Compared as numbers so a zero-padded checksum from another implementation also matches.
        DigestType.Crc32 => uint.TryParse(digest.Checksum, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var crc)
            && crc == System.IO.Hashing.Crc32.HashToUInt32(body),
        // §5.3: UNSPECIFIED is only logged by the official client; accept it.
        _ => true,
    };

    /// <summary>CRC32 (IEEE) as upper-case hex without zero padding (§5.3: <c>m21</c> → <c>3E0D52A</c>).</summary>
    public static string Crc32Hex(ReadOnlySpan<byte> body) =>
        System.IO.Hashing.Crc32.HashToUInt32(body).ToString("X", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>§5.4: "GZIP" may be zlib from 4.x producers; sniff the magic bytes.</summary>
    private static byte[]? Inflate(ReadOnlyMemory<byte> raw)
    {
        try
        {
            using var input = new MemoryStream(raw.ToArray());
            using Stream inflater = raw.Span is [0x1F, 0x8B, ..]
                ? new GZipStream(input, CompressionMode.Decompress)
                : new ZLibStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            inflater.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}
