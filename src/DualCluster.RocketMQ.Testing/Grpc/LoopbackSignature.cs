using System.Security.Cryptography;
using System.Text;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// Verifies the <c>MQv2-HMAC-SHA1</c> authorization the way the Apache auth module does (fact sheet §3.1): split at
/// the first space, items on commas, each on its first '='; user = Credential up to '/'; the hex Signature must equal
/// HMAC-SHA1(secret, exact <c>x-mq-date-time</c> value). No clock-skew check (the proxy has none).
/// </summary>
internal static class LoopbackSignature
{
    /// <summary>Null when the call is authenticated, else why not (the UNAUTHORIZED message).</summary>
    public static string? Verify(string? authorization, string? dateTime, string accessKey, string secretKey)
    {
        if (string.IsNullOrEmpty(authorization))
        {
            return "no authorization header: username cannot be null";
        }

        if (string.IsNullOrEmpty(dateTime))
        {
            return "datetime is null";
        }

        var space = authorization.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            return "authorization header is malformed";
        }

        string? credential = null;
        string? signature = null;
        foreach (var item in authorization[(space + 1)..].Split(','))
        {
            var trimmed = item.Trim();
            var equals = trimmed.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                return $"authorization item '{trimmed}' is malformed";
            }

            var key = trimmed[..equals];
            var value = trimmed[(equals + 1)..];
            if (key == "Credential")
            {
                credential = value;
            }
            else if (key == "Signature")
            {
                signature = value;
            }
        }

        if (credential is null || signature is null)
        {
            return "authorization header lacks Credential or Signature";
        }

        var slash = credential.IndexOf('/', StringComparison.Ordinal);
        var user = slash < 0 ? credential : credential[..slash];
        if (!string.Equals(user, accessKey, StringComparison.Ordinal))
        {
            return $"user {user} is not found";
        }

        byte[] given;
        try
        {
            given = Convert.FromHexString(signature);
        }
        catch (FormatException)
        {
            return "signature is not hexadecimal";
        }

#pragma warning disable CA5350 // MQv2-HMAC-SHA1 is the protocol's signature (fact sheet §3.1).
        var expected = HMACSHA1.HashData(Encoding.UTF8.GetBytes(secretKey), Encoding.UTF8.GetBytes(dateTime));
#pragma warning restore CA5350
        return CryptographicOperations.FixedTimeEquals(given, expected) ? null : "check signature failed";
    }
}
