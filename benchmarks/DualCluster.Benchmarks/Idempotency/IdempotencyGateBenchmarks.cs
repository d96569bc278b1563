using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using DualCluster.Consuming;
using DualCluster.Idempotency;
using DualCluster.Telemetry;
using DualCluster.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualCluster.Benchmarks.Idempotency;

/// <summary>
/// Claim + complete of fresh keys, single-threaded: the in-memory store on its own and the full gate
/// (key derivation, claim, a no-op handler, complete), against a plain concurrent dictionary doing the
/// least any store must (insert, then update) as the baseline. Each invocation handles <see cref="Keys"/> keys.
/// </summary>
[MemoryDiagnoser]
public class IdempotencyGateBenchmarks : IDisposable
{
    private const int Keys = 300_000;
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);
    private static readonly IdempotencyOptions Options = new();

    private string[] _keys = [];
    private ReceivedMessage[] _messages = [];
    private ConcurrentDictionary<string, long> _dictionary = new();
    private InMemoryIdempotencyStore _store = new();
    private IdempotencyGate _gate = null!;
    private DualClusterMetrics _metrics = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _keys = Enumerable.Range(0, Keys).Select(i => $"order-service:{Guid.NewGuid():N}").ToArray();
        _messages = Enumerable.Range(0, Keys).Select(i => new ReceivedMessage(
            ClusterRole.New,
            "orders",
            $"msg-{i}",
            new byte[64],
            1,
            properties: new Dictionary<string, string> { [MessageProperties.IdempotencyKey] = Guid.NewGuid().ToString("N") })).ToArray();
        _metrics = new DualClusterMetrics();
    }

    [IterationSetup]
    public void IterationSetup()
    {
        _dictionary = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        _store.Dispose();
        _store = new InMemoryIdempotencyStore();
        _gate = new IdempotencyGate(_store, _metrics, NullLogger.Instance);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store.Dispose();
        _metrics.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public long ConcurrentDictionary_insert_then_update()
    {
        long sum = 0;
        foreach (var key in _keys)
        {
            _dictionary.TryAdd(key, 1);
            _dictionary.TryUpdate(key, 2, 1);
            sum++;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Keys)]
    public async Task<long> InMemoryStore_claim_then_complete()
    {
        long sum = 0;
        foreach (var key in _keys)
        {
            var claim = await _store.TryClaimAsync(key, Lease);
            if (await _store.CompleteAsync(key, claim.FencingToken, Retention))
            {
                sum++;
            }
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Keys)]
    public async Task<long> Gate_claim_handle_complete()
    {
        long sum = 0;
        foreach (var message in _messages)
        {
            var outcome = await _gate.RunAsync(message, "order-service", Options, null, static (_, _, _) => Task.CompletedTask, CancellationToken.None);
            if (outcome.Acknowledge)
            {
                sum++;
            }
        }

        return sum;
    }
}
