using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using DualCluster.Redis;
using DualCluster.Redis.Tests;
using StackExchange.Redis;

namespace DualCluster.Stores.Benchmarks;

/// <summary>
/// Claim+complete pairs per second against a redis-server started for the run (AOF everysec, loopback). GlobalSetup
/// first measures the ceiling on the same server with redis-benchmark's own SET test and prints it.
/// </summary>
[MemoryDiagnoser]
public class RedisStoreBenchmarks
{
    private readonly string _run = Guid.NewGuid().ToString("N");
    private RedisServer _server = null!;
    private ConnectionMultiplexer _multiplexer = null!;
    private RedisIdempotencyStore _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        _server = RedisServer.StartAsync().GetAwaiter().GetResult();
        foreach (var args in new[] { "-t set -n 200000 -c 50 -q", "-t set -n 1000000 -c 50 -P 16 -q" })
        {
            var line = RedisBenchmark(args);
            Console.WriteLine($"// redis-benchmark {args}: {line}");
            File.AppendAllText(Path.Combine(Path.GetTempPath(), "dualcluster-redis-ceiling.txt"), $"{DateTime.UtcNow:O} redis-benchmark {args}: {line}{Environment.NewLine}");
        }

        _multiplexer = ConnectionMultiplexer.Connect(_server.ConnectionString);
        _store = new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "bench:" });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _multiplexer.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = StoreWorkload.PerCaller)]
    public Task SingleCaller() => StoreWorkload.ClaimAndCompleteAsync(_store, _run, StoreWorkload.PerCaller);

    [Benchmark(OperationsPerInvoke = StoreWorkload.Callers * StoreWorkload.PerCaller)]
    public Task Callers16() => StoreWorkload.ConcurrentAsync(_store, _run, StoreWorkload.Callers, StoreWorkload.PerCaller);

    /// <summary>The same 16 callers through <see cref="DualCluster.Idempotency.CoalescingIdempotencyStore"/> (what DI registers by default).</summary>
    [Benchmark(OperationsPerInvoke = StoreWorkload.Callers * StoreWorkload.PerCaller)]
    public Task Callers16Coalesced() => StoreWorkload.ConcurrentAsync(new DualCluster.Idempotency.CoalescingIdempotencyStore(_store), _run, StoreWorkload.Callers, StoreWorkload.PerCaller);

    [Benchmark(OperationsPerInvoke = StoreWorkload.BatchSize)]
    public Task BatchedSingleCaller() => StoreWorkload.BatchAsync(_store, _run, StoreWorkload.BatchSize);

    [Benchmark(OperationsPerInvoke = StoreWorkload.Callers * StoreWorkload.BatchSize)]
    public Task BatchedCallers16() => StoreWorkload.ConcurrentBatchesAsync(_store, _run, StoreWorkload.Callers, StoreWorkload.BatchSize);

    private string RedisBenchmark(string args)
    {
        var start = new ProcessStartInfo(RedisServer.Find("redis-benchmark"), $"-h 127.0.0.1 -p {_server.Port} {args}")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();

        // -q prints progress with carriage returns, then the final "SET: n requests per second" line.
        return output.Split('\r', '\n').LastOrDefault(l => l.StartsWith("SET:", StringComparison.Ordinal))?.Trim() ?? output.Trim();
    }
}
