using System.Collections.Concurrent;
using DualCluster.Idempotency;
using DualCluster.Telemetry;

namespace DualCluster.Consuming;

/// <summary>
/// Renews the idempotency leases of handlers still running, so a handler slower than
/// <see cref="IdempotencyOptions.Lease"/> keeps its key and the redelivered copy waits instead of running a second
/// time. One timer per gate scans the claims held; a claim is renewed once a quarter of its lease has passed since it
/// was taken or last renewed. Stores that cannot renew (<see cref="IIdempotencyStore.RenewAsync"/> answers false) are
/// left alone. Thread-safe.
/// </summary>
internal sealed class LeaseKeeper(IIdempotencyStore store, TimeProvider time, DualClusterMetrics metrics) : IDisposable
{
    private readonly ConcurrentDictionary<long, Held> _held = new();
    private readonly object _timerGate = new();
    private ITimer? _timer;
    private TimeSpan _period = Timeout.InfiniteTimeSpan;
    private long _nextId;
    private bool _disposed;

    /// <summary>Keeps <paramref name="storeKey"/>'s lease alive until the returned handle is disposed.</summary>
    public Handle Hold(string storeKey, long fencingToken, TimeSpan lease, string group)
    {
        var id = Interlocked.Increment(ref _nextId);
        _held[id] = new Held(storeKey, fencingToken, lease, group, time.GetTimestamp());
        EnsureTimer(lease / 6);
        return new Handle(this, id);
    }

    private void EnsureTimer(TimeSpan period)
    {
        if (period < TimeSpan.FromMilliseconds(10))
        {
            period = TimeSpan.FromMilliseconds(10);
        }

        if (_timer is not null && period >= _period)
        {
            return;
        }

        lock (_timerGate)
        {
            if (_disposed || (_timer is not null && period >= _period))
            {
                return;
            }

            _period = period;
            _timer ??= time.CreateTimer(static s => ((LeaseKeeper)s!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timer.Change(period, period);
        }
    }

    private void Tick()
    {
        var now = time.GetTimestamp();
        foreach (var (_, held) in _held)
        {
            if (held.Stopped || time.GetElapsedTime(Volatile.Read(ref held.RenewedAt), now) < held.Lease / 4
                || Interlocked.CompareExchange(ref held.Renewing, 1, 0) != 0)
            {
                continue;
            }

            _ = RenewAsync(held);
        }
    }

    private async Task RenewAsync(Held held)
    {
        try
        {
            var started = time.GetTimestamp();
            if (await store.RenewAsync(held.Key, held.Token, held.Lease, CancellationToken.None).ConfigureAwait(false))
            {
                Volatile.Write(ref held.RenewedAt, started);
            }
            else
            {
                // Lost, completed, or a store that cannot renew: nothing more to do for this claim.
                held.Stopped = true;
            }
        }
        catch (Exception)
        {
            // Unreachable store: try again on the next tick while the lease may still be live.
            metrics.StoreErrors.Add(1, DualClusterMetrics.Group(held.Group));
        }
        finally
        {
            Volatile.Write(ref held.Renewing, 0);
        }
    }

    private void Release(long id) => _held.TryRemove(id, out _);

    public void Dispose()
    {
        lock (_timerGate)
        {
            _disposed = true;
            _timer?.Dispose();
        }
    }

    /// <summary>Stops renewing one claim.</summary>
    internal readonly struct Handle(LeaseKeeper keeper, long id) : IDisposable
    {
        public void Dispose() => keeper?.Release(id);
    }

    private sealed class Held(string key, long token, TimeSpan lease, string group, long takenAt)
    {
        public readonly string Key = key;
        public readonly long Token = token;
        public readonly TimeSpan Lease = lease;
        public readonly string Group = group;
        public long RenewedAt = takenAt;
        public int Renewing;
        public volatile bool Stopped;
    }
}
