using DualCluster.RocketMQ.Remoting;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Testing;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>Helpers for tests over real TCP: quick timings, unique names, signals with a safety timeout.</summary>
internal static class WireTestContext
{
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);

    public static string Unique(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];

    public static ClusterOptions ClusterOptions(string nameServers, Action<ClusterOptions>? configure = null)
    {
        var options = new ClusterOptions
        {
            Protocol = "Remoting",
            NameServers = nameServers,
            RequestTimeout = TimeSpan.FromSeconds(5),
            Settings =
            {
                ["PullSuspendTimeout"] = "00:00:01",
                ["RebalanceInterval"] = "00:00:02",
                ["OffsetPersistInterval"] = "00:00:00.200",
                ["HeartbeatInterval"] = "00:00:05",
                ["MaxReconnectBackoff"] = "00:00:00.500",
            },
        };
        configure?.Invoke(options);
        return options;
    }

    public static RemotingTransport NewTransport(string nameServers, Action<ClusterOptions>? configure = null, ClusterRole role = ClusterRole.Old) =>
        new(role, RemotingSettings.From(ClusterOptions(nameServers, configure)));

    /// <summary>Delay levels shortened to 100 ms so send-back retries come back quickly.</summary>
    public static IReadOnlyList<TimeSpan> QuickDelayLevels { get; } = [.. Enumerable.Repeat(TimeSpan.FromMilliseconds(100), 18)];

    /// <summary>A loopback name server + broker over a fresh in-memory broker.</summary>
    public static Task<RemotingLoopbackCluster> StartLoopbackAsync(RemotingLoopbackOptions? options = null, InMemoryBroker? broker = null)
    {
        options ??= new RemotingLoopbackOptions();
        options.DelayLevels ??= QuickDelayLevels;
        return RemotingLoopbackCluster.StartAsync(broker ?? new InMemoryBroker(), options);
    }

    /// <summary>Waits until <paramref name="condition"/> holds, checking every 50 ms, failing after the safety timeout.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + SafetyTimeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }
}
