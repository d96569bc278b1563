namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Java's <c>String.hashCode()</c> (h = 31·h + c over UTF-16 code units, int32 overflow): the tag code
/// brokers filter by (fact sheet §4.4). Never .NET's randomized string hash.
/// </summary>
internal static class JavaStringHash
{
    public static int Compute(string value)
    {
        var hash = 0;
        foreach (var c in value)
        {
            hash = unchecked((31 * hash) + c);
        }

        return hash;
    }
}
