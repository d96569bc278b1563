using BenchmarkDotNet.Attributes;
using DualCluster.Fleet;
using DualCluster.Testing;
using DualCluster.Producing;
using DualCluster.Transport;
using Polly;
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
    private ServiceProvider? _factsServices;
    private IDualClusterProducer _factsFacade = null!;
    private InMemoryBroker _broker = new();
    private IClusterProducer _bare = null!;
    private IDualClusterProducer _facade = null!;
    private ResiliencePipeline<SendReceipt> _pipeline = null!;

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
        _pipeline = new SendPipelines(TimeProvider.System).For(ClusterRole.Old, new ResilienceOptions());

        // The same facade deciding on fleet facts: New is the plan, and the registry shows the topic's group positioned
        // there, so every send takes the router's cached decision and records the write for the heartbeat.
        _factsServices?.Dispose();
        var registry = new InMemoryFleetRegistry();
        registry.PublishAsync(
            new FleetMember("worker", 1, null, [], [new FleetConsumer("g", "bench-topic", ClusterSet.Both, ClusterSet.Both, ClusterSet.None) { Targets = ClusterSet.Both }]),
            TimeSpan.FromHours(1)).AsTask().GetAwaiter().GetResult();
        var facts = new ServiceCollection();
        facts.AddDualCluster(o =>
            {
                o.NodeId = "bench-node";
                o.Producer.NewWeight = 100;
                o.Consumer.NewWeight = 100;
            })
            .UseInMemoryBrokers(new InMemoryBroker(new InMemoryBrokerOptions { Name = "unused" }), _broker)
            .UseFleetRegistry(_ => registry)
            .AddProducer();
        _factsServices = facts.BuildServiceProvider();
        _factsServices.GetRequiredService<FleetMonitor>().RefreshAsync(CancellationToken.None).GetAwaiter().GetResult();
        _factsFacade = _factsServices.GetRequiredService<IDualClusterProducer>();
        if (_factsFacade.SendAsync(new OutgoingMessage("bench-topic", Body)).AsTask().GetAwaiter().GetResult().Cluster != ClusterRole.New)
        {
            throw new InvalidOperationException("The facts facade must route the topic to New (its group is positioned there).");
        }
    }

    /// <summary>
    /// Baseline: the bare transport with a unique idempotency key per message, made the way the facade makes one
    /// (a caller that wants idempotent consumption without the facade has to do the same).
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Sends)]
    public async Task<long> Bare_transport_send()
    {
        long offset = 0;
        for (var i = 0; i < Sends; i++)
        {
            var receipt = await _bare.SendAsync(new OutgoingMessage("bench-topic", Body) { IdempotencyKey = Guid.NewGuid().ToString("N") });
            offset += receipt.Offset;
        }

        return offset;
    }

    /// <summary>The bare transport with one constant key: no key to make, none retained per message.</summary>
    [Benchmark(OperationsPerInvoke = Sends)]
    public async Task<long> Bare_transport_send_constant_key()
    {
        long offset = 0;
        for (var i = 0; i < Sends; i++)
        {
            var receipt = await _bare.SendAsync(new OutgoingMessage("bench-topic", Body) { IdempotencyKey = "k" });
            offset += receipt.Offset;
        }

        return offset;
    }

    /// <summary>The bare transport inside the facade's Polly pipeline (retry → breaker → timeout) alone, to split the overhead.</summary>
    [Benchmark(OperationsPerInvoke = Sends)]
    public async Task<long> Bare_transport_send_in_polly_pipeline()
    {
        long offset = 0;
        for (var i = 0; i < Sends; i++)
        {
            var message = new OutgoingMessage("bench-topic", Body) { IdempotencyKey = Guid.NewGuid().ToString("N") };
            var receipt = await _pipeline.ExecuteAsync(static (s, ct) => s.Producer.SendAsync(s.Message, ct), (Producer: _bare, Message: message));
            offset += receipt.Offset;
        }

        return offset;
    }

    /// <summary>The facade: stamps the key, reads the routing, runs the pipeline, records metrics.</summary>
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

    /// <summary>The facade with a fleet registry: the topic's route comes from the facts (a cached decision per topic) and each send is recorded for the heartbeat.</summary>
    [Benchmark(OperationsPerInvoke = Sends)]
    public async Task<long> Facade_send_on_fleet_facts()
    {
        long offset = 0;
        for (var i = 0; i < Sends; i++)
        {
            var result = await _factsFacade.SendAsync(new OutgoingMessage("bench-topic", Body));
            offset += result.Receipt.Offset;
        }

        return offset;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _services?.Dispose();
        _factsServices?.Dispose();
        GC.SuppressFinalize(this);
    }
}
