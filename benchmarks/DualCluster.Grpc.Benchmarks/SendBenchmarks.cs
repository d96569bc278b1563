using BenchmarkDotNet.Attributes;
using DualCluster.Testing;

namespace DualCluster.Grpc.Benchmarks;

/// <summary>
/// Send throughput with 1, 16 and 64 concurrent senders, 1 KiB bodies. Baseline: the same sends straight into the
/// in-memory broker (no wire); the ratio is the 5.x protocol's cost (HTTP/2, protobuf, headers and signing, and the
/// loopback server's own work — client and server share the machine).
/// </summary>
[MemoryDiagnoser]
public class SendBenchmarks
{
    private const int SendsPerInvoke = 2048;
    private static readonly byte[] Body = new byte[1024];
    private GrpcRig _rig = null!;
    private InMemoryBroker _direct = null!;

    [Params(1, 16, 64)]
    public int Senders { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _rig = await GrpcRig.StartAsync();
        _direct = new InMemoryBroker();
        await _rig.Transport.Producer.SendAsync(new OutgoingMessage("BenchSend", Body));
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _rig.DisposeAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = SendsPerInvoke)]
    public Task InMemoryDirect() => RunAsync(() =>
    {
        _direct.Send(new OutgoingMessage("BenchSend", Body));
        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = SendsPerInvoke)]
    public Task GrpcOverHttp2() => RunAsync(async () => await _rig.Transport.Producer.SendAsync(new OutgoingMessage("BenchSend", Body)));

    private async Task RunAsync(Func<ValueTask> send)
    {
        var perSender = SendsPerInvoke / Senders;
        var tasks = new Task[Senders];
        for (var s = 0; s < Senders; s++)
        {
            tasks[s] = Task.Run(async () =>
            {
                for (var i = 0; i < perSender; i++)
                {
                    await send();
                }
            });
        }

        await Task.WhenAll(tasks);
    }
}
