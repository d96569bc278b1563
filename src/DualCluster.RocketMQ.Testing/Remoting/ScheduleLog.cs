namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// The loopback's model of Apache's schedule service (fact sheet §3.5.1): per delay level, the due times of the
/// messages scheduled at that level, in order (one level has one duration, so due times only grow). The level's
/// queue max offset is how many were scheduled; its progress (delayOffset.json) is how many are due. Thread-safe.
/// </summary>
internal sealed class ScheduleLog
{
    private readonly Dictionary<int, List<DateTimeOffset>> _levels = [];
    private readonly object _gate = new();

    public void Add(int level, DateTimeOffset due)
    {
        lock (_gate)
        {
            if (!_levels.TryGetValue(level, out var times))
            {
                _levels[level] = times = [];
            }

            times.Add(due);
        }
    }

    public long Scheduled(int level)
    {
        lock (_gate)
        {
            return _levels.TryGetValue(level, out var times) ? times.Count : 0;
        }
    }

    public IReadOnlyDictionary<int, long> Progress(DateTimeOffset now)
    {
        lock (_gate)
        {
            var progress = new Dictionary<int, long>();
            foreach (var (level, times) in _levels)
            {
                var due = times.BinarySearch(now);
                progress[level] = due >= 0 ? LastIndexOf(times, due) + 1 : ~due;
            }

            return progress;
        }
    }

    private static int LastIndexOf(List<DateTimeOffset> times, int index)
    {
        while (index + 1 < times.Count && times[index + 1] == times[index])
        {
            index++;
        }

        return index;
    }
}
