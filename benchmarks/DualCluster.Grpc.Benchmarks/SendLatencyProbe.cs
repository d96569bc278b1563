using System.Diagnostics;

namespace DualCluster.Grpc.Benchmarks;

/// <summary>Per-send latency percentiles with 1, 16 and 64 concurrent senders (BenchmarkDotNet measures whole operations, not percentiles).</summary>
internal static class SendLatencyProbe
{
    public static async Task RunAsync()
    {
        await using var rig = await GrpcRig.StartAsync();
        var body = new byte[1024];
        await rig.Transport.Producer.SendAsync(new OutgoingMessage("BenchLatency", body));
        Console.WriteLine("| senders | sends | sends/s | p50 µs | p99 µs |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (var senders in new[] { 1, 16, 64 })
        {
            // Warm-up, then a measured run.
            await MeasureAsync(rig, senders, 1000, body);
            var (rate, p50, p99, total) = await MeasureAsync(rig, senders, senders == 1 ? 5000 : 20000, body);
            Console.WriteLine($"| {senders} | {total} | {rate:N0} | {p50:N0} | {p99:N0} |");
        }
    }

    private static async Task<(double Rate, double P50, double P99, int Total)> MeasureAsync(GrpcRig rig, int senders, int total, byte[] body)
    {
        var perSender = total / senders;
        var latencies = new long[perSender * senders];
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, senders).Select(s => Task.Run(async () =>
        {
            for (var i = 0; i < perSender; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await rig.Transport.Producer.SendAsync(new OutgoingMessage("BenchLatency", body));
                latencies[(s * perSender) + i] = Stopwatch.GetTimestamp() - start;
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        clock.Stop();
        Array.Sort(latencies);
        double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        return (latencies.Length / clock.Elapsed.TotalSeconds, Micros(latencies[latencies.Length / 2]), Micros(latencies[(int)(latencies.Length * 0.99)]), latencies.Length);
    }
}
