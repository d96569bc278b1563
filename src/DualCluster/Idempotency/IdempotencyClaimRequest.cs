using System.Security.Cryptography;

namespace DualCluster.Idempotency;

/// <summary>One key to claim, optionally with a hash of the message body for payload validation.</summary>
/// <param name="Key">The scoped idempotency key.</param>
/// <param name="PayloadHash">
/// A hash of the body (empty = no validation). Use <see cref="ForPayload"/> so every node hashes the same way.
/// </param>
public readonly record struct IdempotencyClaimRequest(string Key, ReadOnlyMemory<byte> PayloadHash = default)
{
    /// <summary>The number of bytes <see cref="ForPayload"/> keeps of the SHA-256 of a body.</summary>
    public const int PayloadHashLength = 16;

    /// <summary>A request for <paramref name="key"/> carrying the first 16 bytes of the SHA-256 of <paramref name="body"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is null or empty.</exception>
    public static IdempotencyClaimRequest ForPayload(string key, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, hash);
        return new(key, hash[..PayloadHashLength].ToArray());
    }
}
