using System.Collections.Concurrent;

namespace DualCluster.Fleet;

/// <summary>
/// What this node's producer facade sent where, for its heartbeat record: the last send time per topic and cluster.
/// One dictionary write per send; thread-safe.
/// </summary>
internal sealed class FleetActivity(TimeProvider time)
{
    private readonly ConcurrentDictionary<FleetWrite, long> _lastWrite = new();

    public void RecordWrite(string topic, ClusterRole cluster) => _lastWrite[new FleetWrite(topic, cluster)] = time.GetTimestamp();

    /// <summary>The topics written to each cluster within <paramref name="window"/>, ordered; older entries are forgotten.</summary>
    public IReadOnlyList<FleetWrite> WritesWithin(TimeSpan window)
    {
        var recent = new List<FleetWrite>();
        foreach (var (write, at) in _lastWrite)
        {
            if (time.GetElapsedTime(at) <= window)
            {
                recent.Add(write);
            }
            else
            {
                _lastWrite.TryRemove(new KeyValuePair<FleetWrite, long>(write, at));
            }
        }

        recent.Sort(static (a, b) => a.Topic == b.Topic ? a.Cluster.CompareTo(b.Cluster) : string.CompareOrdinal(a.Topic, b.Topic));
        return recent;
    }

    /// <summary>The topics this node sent within the write window, as of the last <see cref="WritesWithin"/> (which forgets older ones).</summary>
    public IEnumerable<string> Topics => _lastWrite.Keys.Select(k => k.Topic).Distinct(StringComparer.Ordinal);
}
