using System.Security.Cryptography;
using System.Text;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// ACL 1.0 request signing (fact sheet §6.1): HMAC-SHA1 over the ext-field values in ordinal key order,
/// then the body, Base64-encoded into <c>Signature</c>.
/// </summary>
internal sealed class AclSigner
{
    public const string AccessKeyField = "AccessKey";
    public const string SecurityTokenField = "SecurityToken";
    public const string SignatureField = "Signature";

    private readonly string _accessKey;
    private readonly byte[] _secretKey;
    private readonly string? _securityToken;

    public AclSigner(string accessKey, string secretKey, string? securityToken = null)
    {
        _accessKey = accessKey;
        _secretKey = Encoding.UTF8.GetBytes(secretKey);
        _securityToken = string.IsNullOrEmpty(securityToken) ? null : securityToken;
    }

    /// <summary>Adds <c>AccessKey</c>, <c>SecurityToken</c> and <c>Signature</c> to <paramref name="command"/>.</summary>
    public void Sign(RemotingCommand command)
    {
        var ext = command.ExtFields ??= new Dictionary<string, string>(StringComparer.Ordinal);
        ext[AccessKeyField] = _accessKey;
        if (_securityToken is not null)
        {
            ext[SecurityTokenField] = _securityToken;
        }

        ext.Remove(SignatureField);
        ext[SignatureField] = ComputeSignature(ext, command.Body.Span, _secretKey);
    }

    /// <summary>
    /// The signature of <paramref name="extFields"/> (ignoring <c>Signature</c> and the
    /// <c>_UNIQUE_KEY_QUERY</c> flag) and <paramref name="body"/> with <paramref name="secretKey"/>.
    /// </summary>
    public static string ComputeSignature(IReadOnlyDictionary<string, string> extFields, ReadOnlySpan<byte> body, byte[] secretKey)
    {
        var keys = new List<string>(extFields.Count);
        foreach (var key in extFields.Keys)
        {
            if (key != SignatureField && key != "_UNIQUE_KEY_QUERY")
            {
                keys.Add(key);
            }
        }

        // Java String natural order = ordinal UTF-16 order (§6.1 step 3, §9 risk 3).
        keys.Sort(StringComparer.Ordinal);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, secretKey);
        Span<byte> scratch = stackalloc byte[256];
        foreach (var key in keys)
        {
            var value = extFields[key];
            var count = Encoding.UTF8.GetMaxByteCount(value.Length);
            if (count <= scratch.Length)
            {
                hmac.AppendData(scratch[..Encoding.UTF8.GetBytes(value, scratch)]);
            }
            else
            {
                hmac.AppendData(Encoding.UTF8.GetBytes(value));
            }
        }

        hmac.AppendData(body);
        Span<byte> digest = stackalloc byte[20];
        hmac.GetHashAndReset(digest);
        return Convert.ToBase64String(digest);
    }

    /// <summary>Whether <paramref name="command"/> carries a valid signature for <paramref name="secretKey"/> (loopback broker side).</summary>
    public static bool Verify(RemotingCommand command, byte[] secretKey)
    {
        if (command.ExtFields is not { } ext || !ext.TryGetValue(SignatureField, out var signature))
        {
            return false;
        }

        var expected = ComputeSignature(ext, command.Body.Span, secretKey);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature));
    }
}
