using Apache.Rocketmq.V2;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>Redelivery delays from a server <see cref="RetryPolicy"/> (fact sheet §2.1, §2.3).</summary>
internal static class RetryBackoff
{
    /// <summary>The proxy's default consumer policy: 1s 5s 10s 30s 1m 2m … 20m 30m 1h 2h (§2.3).</summary>
    public static IReadOnlyList<TimeSpan> DefaultConsumerSteps { get; } =
        [.. new[] { 1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200 }.Select(s => TimeSpan.FromSeconds(s))];

    /// <summary>
    /// The delay after failed delivery <paramref name="attempt"/> (1-based): customized → <c>next[n−1]</c>, the last
    /// repeated beyond the end; exponential → <c>min(initial × multiplier^(n−1), max)</c>; no policy → the proxy default.
    /// </summary>
    public static TimeSpan Delay(RetryPolicy? policy, int attempt)
    {
        attempt = Math.Max(1, attempt);
        if (policy?.CustomizedBackoff is { Next.Count: > 0 } custom)
        {
            return custom.Next[Math.Min(attempt, custom.Next.Count) - 1].ToTimeSpan();
        }

        if (policy?.ExponentialBackoff is { } exponential)
        {
            var initial = exponential.Initial?.ToTimeSpan() ?? TimeSpan.FromSeconds(1);
            var max = exponential.Max?.ToTimeSpan() is { } m && m > TimeSpan.Zero ? m : TimeSpan.FromHours(2);
            var multiplier = exponential.Multiplier > 0 ? exponential.Multiplier : 2;
            var ticks = initial.Ticks * Math.Pow(multiplier, attempt - 1);
            return ticks >= max.Ticks || double.IsNaN(ticks) ? max : TimeSpan.FromTicks((long)ticks);
        }

        return DefaultConsumerSteps[Math.Min(attempt, DefaultConsumerSteps.Count) - 1];
    }
}
