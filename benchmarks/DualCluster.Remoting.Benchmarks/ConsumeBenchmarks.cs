using BenchmarkDotNet.Attributes;
using DualCluster.Transport;

namespace DualCluster.Remoting.Benchmarks;

/// <summary>
/// Consume throughput: 2,048 stored 1 KiB messages read by a fresh consumer group. Baseline: pulling the same
/// messages straight from the in-memory broker; the measured case is a remoting push consumer over TCP
/// (heartbeat, rebalance, long-polling pulls, record decoding, handler dispatch, offset commits).
/// </summary>
[MemoryDiagnoser]
public class ConsumeBenchmarks
{
    private const int Messages = 2048;
    private static readonly byte[] Body = new byte[1024];
    private LoopbackRig _rig = null!;
    private string _topic = null!;
    private int _round;

    [GlobalSetup]
    public async Task SetupAsync() => _rig = await LoopbackRig.StartAsync();

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
    public int InMemoryPull()
    {
        var read = 0;
        for (var queue = 0; queue < 4; queue++)
        {
            long offset = 0;
            while (true)
            {
                var result = _rig.Broker.Pull("direct", _topic, queue, offset, 32);
                if (result.Messages.Count == 0)
                {
                    break;
                }

                read += result.Messages.Count;
                offset = result.NextOffset;
            }
        }

        return read;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<int> RemotingPushConsumer()
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
