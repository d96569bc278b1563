using BenchmarkDotNet.Attributes;
using DualCluster.Transport;

namespace DualCluster.Grpc.Benchmarks;

/// <summary>
/// Consume throughput: 2,048 stored 1 KiB messages read by a fresh consumer group. Baseline: receiving and acking the
/// same messages straight from the in-memory broker; the measured case is the gRPC push consumer over HTTP/2
/// (route, Telemetry, assignment, long-polling receives, handler dispatch, one AckMessage per message).
/// </summary>
[MemoryDiagnoser]
public class ConsumeBenchmarks
{
    private const int Messages = 2048;
    private static readonly byte[] Body = new byte[1024];
    private GrpcRig _rig = null!;
    private string _topic = null!;
    private int _round;

    [GlobalSetup]
    public async Task SetupAsync() => _rig = await GrpcRig.StartAsync();

    [GlobalCleanup]
    public async Task CleanupAsync() => await _rig.DisposeAsync();

    [IterationSetup]
    public void Fill()
    {
        _topic = $"BenchConsume{Interlocked.Increment(ref _round)}";
        _rig.Broker.CreateTopic(_topic, 4);
        for (var i = 0; i < Messages; i++)
        {
            _rig.Broker.Send(new OutgoingMessage(_topic, Body));
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public int InMemoryReceiveAck()
    {
        var read = 0;
        while (true)
        {
            var batch = _rig.Broker.Receive($"direct{_round}", _topic, 32, TimeSpan.FromMinutes(1));
            if (batch.Count == 0)
            {
                return read;
            }

            foreach (var delivery in batch)
            {
                _rig.Broker.Ack(delivery);
                read++;
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<int> GrpcPushConsumer()
    {
        var count = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = _rig.Transport.CreateConsumer(new ConsumerSubscription($"G{_round}", _topic) { MaxConcurrency = 64 }, (_, _) =>
        {
            if (Interlocked.Increment(ref count) == Messages)
            {
                done.TrySetResult();
            }

            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();
        await done.Task.WaitAsync(TimeSpan.FromMinutes(1));
        await consumer.StopAsync();
        await consumer.DisposeAsync();
        return count;
    }
}
