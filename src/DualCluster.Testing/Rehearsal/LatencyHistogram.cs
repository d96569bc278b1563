namespace DualCluster.Testing;

/// <summary>
/// A fixed-size log-linear latency histogram (about 3% resolution from 1 µs to ~17 minutes) that records
/// without allocating. Thread-safe.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBuckets = 32;
    private const int Magnitudes = 31;
    private readonly long[] _counts = new long[SubBuckets * Magnitudes];
    private long _count;
    private long _maxMicros;

    public void Record(TimeSpan latency)
    {
        var micros = Math.Max(0, (long)latency.TotalMicroseconds);
        Interlocked.Increment(ref _counts[IndexOf(micros)]);
        Interlocked.Increment(ref _count);
        long max;
        while (micros > (max = Interlocked.Read(ref _maxMicros)) && Interlocked.CompareExchange(ref _maxMicros, micros, max) != max)
        {
        }
    }

    public LatencySummary Summarize()
    {
        var count = Interlocked.Read(ref _count);
        return new LatencySummary(
            count,
            Percentile(count, 0.50),
            Percentile(count, 0.99),
            Percentile(count, 0.999),
            TimeSpan.FromMicroseconds(Interlocked.Read(ref _maxMicros)));
    }

    private TimeSpan Percentile(long count, double p)
    {
        if (count == 0)
        {
            return TimeSpan.Zero;
        }

        var rank = (long)Math.Ceiling(count * p);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return TimeSpan.FromMicroseconds(UpperBoundOf(i));
            }
        }

        return TimeSpan.FromMicroseconds(Interlocked.Read(ref _maxMicros));
    }

    private static int IndexOf(long micros)
    {
        if (micros < SubBuckets)
        {
            return (int)micros;
        }

        // micros in [2^k, 2^(k+1)) with k >= 5: shift it into [32, 64); the first 32 slots hold 0..31 exactly.
        var shift = 63 - (int)long.LeadingZeroCount(micros) - 5;
        var sub = (int)(micros >> shift) - SubBuckets;
        return Math.Min(((shift + 1) * SubBuckets) + sub, (SubBuckets * Magnitudes) - 1);
    }

    private static long UpperBoundOf(int index)
    {
        if (index < SubBuckets)
        {
            return index;
        }

        var shift = (index / SubBuckets) - 1;
        return ((long)((index % SubBuckets) + SubBuckets + 1) << shift) - 1;
    }
}

/// <summary>Latency percentiles of a rehearsal.</summary>
/// <param name="Count">Samples.</param>
/// <param name="P50">Median.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="P999">99.9th percentile.</param>
/// <param name="Max">Largest sample.</param>
public sealed record LatencySummary(long Count, TimeSpan P50, TimeSpan P99, TimeSpan P999, TimeSpan Max);
