using DualCluster.RocketMQ.Grpc;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>Loopback brokers with quick timings, and gRPC transports pointed at them.</summary>
internal static class GrpcWire
{
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A loopback 5.x proxy over a fresh in-memory broker, with redelivery back-offs shortened to 100 ms.</summary>
    public static Task<GrpcLoopbackBroker> StartBrokerAsync(Action<GrpcLoopbackOptions>? configure = null, InMemoryBroker? broker = null)
    {
        var options = new GrpcLoopbackOptions { ConsumerRetryDelays = [TimeSpan.FromMilliseconds(100)] };
        configure?.Invoke(options);
        return GrpcLoopbackBroker.StartAsync(broker ?? new InMemoryBroker(), options);
    }

    /// <summary>A transport for <paramref name="broker"/> with short schedules (reconnects, assignment scans).</summary>
    public static GrpcClusterTransport Transport(GrpcLoopbackBroker broker, ClusterRole role = ClusterRole.New, Action<ClusterOptions>? configure = null, TimeProvider? time = null)
    {
        var cluster = broker.ConfigureCluster(new ClusterOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        cluster.Settings["TelemetryReconnectDelay"] = "00:00:00.200";
        cluster.Settings["AssignmentScanInterval"] = "00:00:01";
        configure?.Invoke(cluster);
        return new GrpcClusterTransport(GrpcTransportOptions.From(role, cluster), time ?? TimeProvider.System, NullLoggerFactory.Instance);
    }

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>Creates a topic with a unique name on the loopback's in-memory broker (a 5.x proxy creates none itself).</summary>
    public static string Topic(GrpcLoopbackBroker broker, string prefix, int queues = 4, GrpcLoopbackTopicType type = GrpcLoopbackTopicType.Normal)
    {
        var topic = Unique(prefix);
        broker.CreateTopic(topic, queues, type);
        return topic;
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, checking every 20 ms, failing after <paramref name="bound"/>
    /// (default the safety timeout). For what the loopback exposes only as counters; prefer a signal where there is one.
    /// </summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? bound = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? SafetyTimeout);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(20);
        }
    }
}
