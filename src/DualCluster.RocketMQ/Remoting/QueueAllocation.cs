namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// The reference client's default strategy, <c>AllocateMessageQueueAveragely</c> (fact sheet §5.2): queues
/// and client ids sorted ordinally, contiguous blocks, the first <c>N % C</c> clients get one extra queue.
/// Mixed Java/C# groups must allocate identically, so keep it exact.
/// </summary>
internal static class QueueAllocation
{
    /// <summary>The queues <paramref name="clientId"/> owns; empty when it is not in <paramref name="clientIds"/>.</summary>
    public static List<MessageQueue> Averagely(IEnumerable<MessageQueue> queues, IEnumerable<string> clientIds, string clientId)
    {
        var mqAll = queues.ToList();
        mqAll.Sort();
        var cidAll = clientIds.Distinct(StringComparer.Ordinal).ToList();
        cidAll.Sort(StringComparer.Ordinal);
        var index = cidAll.IndexOf(clientId);
        var result = new List<MessageQueue>();
        if (index < 0 || mqAll.Count == 0)
        {
            return result;
        }

        var n = mqAll.Count;
        var c = cidAll.Count;
        var mod = n % c;
        var size = n <= c ? 1 : mod > 0 && index < mod ? (n / c) + 1 : n / c;
        var start = mod > 0 && index < mod ? index * size : (index * size) + mod;
        var range = Math.Min(size, n - start);
        for (var i = 0; i < range; i++)
        {
            result.Add(mqAll[(start + i) % n]);
        }

        return result;
    }
}
