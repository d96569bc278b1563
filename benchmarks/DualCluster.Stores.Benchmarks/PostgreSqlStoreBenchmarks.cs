using BenchmarkDotNet.Attributes;
using DualCluster.PostgreSql;
using DualCluster.PostgreSql.Tests;

namespace DualCluster.Stores.Benchmarks;

/// <summary>
/// Claim+complete pairs per second against a PostgreSQL started for the run with its default durability (fsync and
/// synchronous_commit on), over loopback TCP; each case runs with the store's SynchronousCommit on (durable default) and off.
/// </summary>
[MemoryDiagnoser]
public class PostgreSqlStoreBenchmarks
{
    private readonly string _run = Guid.NewGuid().ToString("N");
    private PostgreSqlServer _server = null!;
    private PostgreSqlIdempotencyStore _store = null!;

    /// <summary>The store's <see cref="PostgreSqlIdempotencyStoreOptions.SynchronousCommit"/>: true = durable default.</summary>
    [Params(true, false)]
    public bool SynchronousCommit { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _server = PostgreSqlServer.StartAsync(settings: string.Empty).GetAwaiter().GetResult();
        _store = PostgreSqlIdempotencyStore.Create(new PostgreSqlIdempotencyStoreOptions { ConnectionString = _server.ConnectionString, SynchronousCommit = SynchronousCommit });
        _store.EnsureSchemaAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = StoreWorkload.PerCaller)]
    public Task SingleCaller() => StoreWorkload.ClaimAndCompleteAsync(_store, _run, StoreWorkload.PerCaller);

    [Benchmark(OperationsPerInvoke = StoreWorkload.Callers * StoreWorkload.PerCaller)]
    public Task Callers16() => StoreWorkload.ConcurrentAsync(_store, _run, StoreWorkload.Callers, StoreWorkload.PerCaller);

    /// <summary>The same 16 callers through <see cref="DualCluster.Idempotency.CoalescingIdempotencyStore"/> (what DI registers by default).</summary>
    [Benchmark(OperationsPerInvoke = StoreWorkload.Callers * StoreWorkload.PerCaller)]
    public Task Callers16Coalesced() => StoreWorkload.ConcurrentAsync(new DualCluster.Idempotency.CoalescingIdempotencyStore(_store), _run, StoreWorkload.Callers, StoreWorkload.PerCaller);

    [Benchmark(OperationsPerInvoke = StoreWorkload.Callers * StoreWorkload.BatchSize)]
    public Task BatchedCallers16() => StoreWorkload.ConcurrentBatchesAsync(_store, _run, StoreWorkload.Callers, StoreWorkload.BatchSize);
}
