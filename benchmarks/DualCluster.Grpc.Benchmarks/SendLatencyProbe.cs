using System.Diagnostics;
using DualCluster.RocketMQ.Grpc;
using DualCluster.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualCluster.Grpc.Benchmarks;

/// <summary>
/// Per-send latency percentiles and process CPU per send with 1, 16 and 64 concurrent senders (BenchmarkDotNet
/// measures whole operations, not percentiles), against the loopback broker and against a no-op server.
/// </summary>
internal static class SendLatencyProbe
{
    public static async Task RunAsync()
    {
        var body = new byte[1024];
        await using (var rig = await GrpcRig.StartAsync())
        {
            await RunTableAsync("loopback broker (GrpcLoopbackBroker over InMemoryBroker)", rig.Transport.Producer, body);
        }

        await using var noop = await NoopBroker.StartAsync();
        var options = new ClusterOptions { Protocol = "Grpc", Endpoint = $"http://127.0.0.1:{noop.Port}" };
        await using var transport = new GrpcClusterTransport(GrpcTransportOptions.From(ClusterRole.New, options), TimeProvider.System, NullLoggerFactory.Instance);
        await RunTableAsync("no-op server (client + HTTP/2 stack only)", transport.Producer, body);
    }

    private static async Task RunTableAsync(string title, IClusterProducer producer, byte[] body)
    {
        await producer.SendAsync(new OutgoingMessage("BenchLatency", body));
        Console.WriteLine();
        Console.WriteLine(title);
        Console.WriteLine("| senders | sends | sends/s | p50 µs | p99 µs | process CPU µs/send |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var senders in new[] { 1, 16, 64 })
        {
            // Warm-up, then a measured run.
            await MeasureAsync(producer, senders, 1000, body);
            var (rate, p50, p99, total, cpu) = await MeasureAsync(producer, senders, senders == 1 ? 5000 : 20000, body);
            Console.WriteLine($"| {senders} | {total} | {rate:N0} | {p50:N0} | {p99:N0} | {cpu:N1} |");
        }
    }

    private static async Task<(double Rate, double P50, double P99, int Total, double CpuMicros)> MeasureAsync(IClusterProducer producer, int senders, int total, byte[] body)
    {
        var perSender = total / senders;
        var latencies = new long[perSender * senders];
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, senders).Select(s => Task.Run(async () =>
        {
            for (var i = 0; i < perSender; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await producer.SendAsync(new OutgoingMessage("BenchLatency", body));
                latencies[(s * perSender) + i] = Stopwatch.GetTimestamp() - start;
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        clock.Stop();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / latencies.Length;
        Array.Sort(latencies);
        double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        return (latencies.Length / clock.Elapsed.TotalSeconds, Micros(latencies[latencies.Length / 2]), Micros(latencies[(int)(latencies.Length * 0.99)]), latencies.Length, cpu);
    }
}
