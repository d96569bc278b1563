using BenchmarkDotNet.Attributes;
using DualCluster.Idempotency;

namespace DualCluster.Stores.Benchmarks;

/// <summary>The in-process default store, for scale: claim+complete pairs.</summary>
[MemoryDiagnoser]
public class InMemoryStoreBenchmarks
{
    private readonly string _run = Guid.NewGuid().ToString("N");
    private InMemoryIdempotencyStore _store = null!;

    [GlobalSetup]
    public void Setup() => _store = new InMemoryIdempotencyStore(new InMemoryIdempotencyStoreOptions { SweepInterval = TimeSpan.FromSeconds(5) });

    [GlobalCleanup]
    public void Cleanup() => _store.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = StoreWorkload.PerCaller)]
    public Task SingleCaller() => StoreWorkload.ClaimAndCompleteAsync(_store, _run, StoreWorkload.PerCaller);

    [Benchmark(OperationsPerInvoke = StoreWorkload.Callers * StoreWorkload.PerCaller)]
    public Task Callers16() => StoreWorkload.ConcurrentAsync(_store, _run, StoreWorkload.Callers, StoreWorkload.PerCaller);
}
