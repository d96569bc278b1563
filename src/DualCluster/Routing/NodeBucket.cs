using System.Text;

namespace DualCluster.Routing;

/// <summary>
/// A node's stable bucket, 0–99: FNV-1a (32-bit) over the node id's UTF-8 bytes, modulo 100.
/// The same id gets the same bucket in every process, machine and version (unlike
/// <c>string.GetHashCode</c>). A node is on New when <c>bucket &lt; weight</c>, so raising a weight only
/// ever moves nodes from Old to New.
/// </summary>
public static class NodeBucket
{
    private const uint OffsetBasis = 2166136261;
    private const uint Prime = 16777619;

    /// <summary>The bucket of <paramref name="nodeId"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="nodeId"/> is null or empty.</exception>
    public static int Compute(string nodeId)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        return (int)(Fnv1a32(nodeId) % 100);
    }

    /// <summary>Whether a node in <paramref name="bucket"/> is on New at <paramref name="weight"/> per cent.</summary>
    public static bool IsOnNew(int bucket, int weight) => bucket < weight;

    /// <summary>FNV-1a 32-bit hash of the UTF-8 bytes of <paramref name="value"/>.</summary>
    public static uint Fnv1a32(string value)
    {
        Span<byte> stack = stackalloc byte[256];
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        var bytes = max <= stack.Length ? stack : new byte[max];
        var length = Encoding.UTF8.GetBytes(value, bytes);
        var hash = OffsetBasis;
        foreach (var b in bytes[..length])
        {
            hash = (hash ^ b) * Prime;
        }

        return hash;
    }
}
