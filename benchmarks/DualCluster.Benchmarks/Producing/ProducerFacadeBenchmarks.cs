using BenchmarkDotNet.Attributes;
using DualCluster.Testing;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace DualCluster.Benchmarks.Producing;

/// <summary>
/// The producer facade (key stamping, routing read, Polly retry + breaker + timeout, metrics) against the bare
/// in-memory transport it wraps, one message per operation, both into a fresh broker each iteration.
/// Target: facade ≤ 1.10× the transport's time and at most one small allocation more per send.
/// </summary>
[MemoryDiagnoser]
public class ProducerFacadeBenchmarks : IDisposable
{
    private const int Sends = 20_000;
    private static readonly byte[] Body = new byte[256];

    private ServiceProvider? _services;
    private InMemoryBroker _broker = new();
    private IClusterProducer _bare = null!;
    private IDualClusterProducer _facade = null!;

    [IterationSetup]
    public void IterationSetup()
    {
        _services?.Dispose();
        _broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "bench" });
        _bare = new InMemoryClusterTransport(_broker, ClusterRole.Old).Producer;
        var services = new ServiceCollection();
        services.AddDualCluster(o => o.NodeId = "bench-node")
            .UseInMemoryBrokers(_broker, new InMemoryBroker(new InMemoryBrokerOptions { Name = "unused" }))
            .AddProducer();
        _services = services.BuildServiceProvider();
        _facade = _services.GetRequiredService<IDualClusterProducer>();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Sends)]
    public async Task<long> Bare_transport_send()
    {
        long offset = 0;
        for (var i = 0; i < Sends; i++)
        {
            var receipt = await _bare.SendAsync(new OutgoingMessage("bench-topic", Body) { IdempotencyKey = "k" });
            offset += receipt.Offset;
        }

        return offset;
    }

    [Benchmark(OperationsPerInvoke = Sends)]
    public async Task<long> Facade_send()
    {
        long offset = 0;
        for (var i = 0; i < Sends; i++)
        {
            var result = await _facade.SendAsync(new OutgoingMessage("bench-topic", Body));
            offset += result.Receipt.Offset;
        }

        return offset;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _services?.Dispose();
        GC.SuppressFinalize(this);
    }
}
