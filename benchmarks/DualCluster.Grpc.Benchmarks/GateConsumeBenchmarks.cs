using BenchmarkDotNet.Attributes;
using DualCluster.Redis;
using DualCluster.RocketMQ.Grpc;
using DualCluster.Redis.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualCluster.Grpc.Benchmarks;

/// <summary>
/// What the idempotency gate costs a consumer over the wire: a DualCluster consumer facade (its own host, 64 handlers)
/// drains 4,096 stored 1 KiB messages from the loopback 5.x gRPC broker, with the gate off (baseline) and with the gate
/// on a Redis store (a redis-server started for the run on a loopback port; claims and completions batched by the
/// coalescing wrapper, as registered by <c>UseRedisIdempotencyStore</c>). Start and stop of the host are inside the
/// measurement for both, so the ratio is slightly conservative.
/// </summary>
[MemoryDiagnoser]
public class GateConsumeBenchmarks
{
    private const int Messages = 4096;
    private static readonly byte[] Body = new byte[1024];
    private GrpcRig _rig = null!;
    private RedisServer _redis = null!;
    private string _topic = null!;
    private int _round;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _rig = await GrpcRig.StartAsync();
        _redis = await RedisServer.StartAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _rig.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [IterationSetup]
    public void Fill()
    {
        _topic = $"BenchGate{Interlocked.Increment(ref _round)}";
        _rig.Broker.CreateTopic(_topic, 4);
        for (var i = 0; i < Messages; i++)
        {
            _rig.Broker.Send(new OutgoingMessage(_topic, Body) { IdempotencyKey = $"{_topic}-{i}" });
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public Task<int> GateOff() => DrainAsync(gate: false);

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<int> GateOnRedis() => DrainAsync(gate: true);

    private async Task<int> DrainAsync(bool gate)
    {
        var count = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var cluster = _rig.Server.ConfigureCluster(new ClusterOptions());
        cluster.Settings["AssignmentScanInterval"] = "00:00:01";
        var dual = builder.Services.AddDualCluster(o =>
            {
                o.NodeId = "bench-node";
                o.Idempotency.Enabled = gate;
            })
            .UseTransport(ClusterRole.Old, _ => new GrpcClusterTransport(GrpcTransportOptions.From(ClusterRole.Old, cluster), TimeProvider.System, NullLoggerFactory.Instance))
            .UseTransport(ClusterRole.New, _ => new GrpcClusterTransport(GrpcTransportOptions.From(ClusterRole.New, cluster), TimeProvider.System, NullLoggerFactory.Instance))
            .AddConsumer($"G{_topic}{gate}", _topic, (_, _) =>
            {
                if (Interlocked.Increment(ref count) == Messages)
                {
                    done.TrySetResult();
                }

                return Task.CompletedTask;
            }, o => o.MaxConcurrency = 64);
        if (gate)
        {
            dual.UseRedisIdempotencyStore($"127.0.0.1:{_redis.Port}");
        }

        using var host = builder.Build();
        await host.StartAsync();
        await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
        await host.StopAsync();
        return count;
    }
}
