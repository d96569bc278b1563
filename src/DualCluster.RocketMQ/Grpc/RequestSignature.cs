using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// The <c>MQv2-HMAC-SHA1</c> authorization of fact sheet §3.1: HMAC-SHA1 keyed with the SecretKey over the exact
/// <c>x-mq-date-time</c> value, hex upper-case. Only the date-time is signed.
/// </summary>
internal static class RequestSignature
{
    /// <summary>The algorithm token that starts the header value.</summary>
    public const string Algorithm = "MQv2-HMAC-SHA1";

    /// <summary>Formats <paramref name="time"/> as the <c>x-mq-date-time</c> value, in UTC and the invariant culture (§9.3: the official clients send local time; we do not).</summary>
    public static string FormatDateTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The 40-character upper-case hex signature.</summary>
    [SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "HMAC-SHA1 is what the RocketMQ protocol specifies.")]
    public static string Sign(string secretKey, string dateTime) =>
        Convert.ToHexString(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secretKey), Encoding.UTF8.GetBytes(dateTime)));

    /// <summary>The full <c>authorization</c> header value.</summary>
    public static string Authorization(string accessKey, string secretKey, string dateTime) =>
        $"{Algorithm} Credential={accessKey}, SignedHeaders=x-mq-date-time, Signature={Sign(secretKey, dateTime)}";

    /// <summary>
    /// Parses an <c>authorization</c> value the way the Apache auth module does (split at the first space, then
    /// on commas, each item on its first <c>=</c>; the access key is the text before the first <c>/</c>).
    /// </summary>
    public static bool TryParse(string? header, [NotNullWhen(true)] out string? accessKey, [NotNullWhen(true)] out string? signature)
    {
        accessKey = null;
        signature = null;
        if (string.IsNullOrEmpty(header))
        {
            return false;
        }

        var space = header.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            return false;
        }

        foreach (var raw in header[(space + 1)..].Split(','))
        {
            var item = raw.Trim();
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                return false;
            }

            var name = item[..eq];
            var value = item[(eq + 1)..];
            if (name == "Credential")
            {
                var slash = value.IndexOf('/', StringComparison.Ordinal);
                accessKey = slash < 0 ? value : value[..slash];
            }
            else if (name == "Signature")
            {
                signature = value;
            }
        }

        return accessKey is not null && signature is not null;
    }

    /// <summary>Checks a client's hex signature against the secret, case-insensitively and in constant time.</summary>
    public static bool Verify(string secretKey, string dateTime, string signatureHex)
    {
        byte[] given;
        try
        {
            given = Convert.FromHexString(signatureHex);
        }
        catch (FormatException)
        {
            return false;
        }

        var expected = Convert.FromHexString(Sign(secretKey, dateTime));
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }
}
