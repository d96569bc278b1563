using System.Collections.Concurrent;

namespace DualCluster.Idempotency;

/// <summary>
/// The default store: keys live in this process only, so it catches the duplicates that reach the same
/// node (redeliveries, double reads, mirror writes). Use a shared store (Redis, PostgreSQL) for a fleet.
/// Thread-safe. Time comes from the given <see cref="TimeProvider"/>; expired records are swept every
/// <see cref="InMemoryIdempotencyStoreOptions.SweepInterval"/>, so memory is bounded by the keys seen
/// within the retention period.
/// </summary>
public sealed class InMemoryIdempotencyStore : IIdempotencyStore, IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private long _nextToken;

    /// <summary>Creates the store with default options.</summary>
    public InMemoryIdempotencyStore(TimeProvider? timeProvider = null)
        : this(new InMemoryIdempotencyStoreOptions(), timeProvider)
    {
    }

    /// <summary>Creates the store.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The sweep interval is not positive.</exception>
    public InMemoryIdempotencyStore(InMemoryIdempotencyStoreOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.SweepInterval, TimeSpan.Zero);
        _time = timeProvider ?? TimeProvider.System;
        _sweeper = _time.CreateTimer(static s => ((InMemoryIdempotencyStore)s!).Sweep(), this, options.SweepInterval, options.SweepInterval);
    }

    /// <summary>True for the store DualCluster registers when the application chose none (node-local by construction).</summary>
    internal bool IsNodeDefault { get; init; }

    /// <summary>How many records (in progress or completed, not yet swept) the store holds.</summary>
    public int Count => _entries.Count;

    /// <inheritdoc/>
    public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        => TryClaimAsync(new IdempotencyClaimRequest(key), lease, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        var key = request.Key;
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        var now = _time.GetTimestamp();
        var hash = request.PayloadHash.IsEmpty ? null : request.PayloadHash.ToArray();
        while (true)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                var token = Interlocked.Increment(ref _nextToken);
                var fresh = new Entry { Token = token, ExpiresAt = Until(now, lease), PayloadHash = hash };
                if (_entries.TryAdd(key, fresh))
                {
                    return new(IdempotencyClaim.Acquired(token));
                }

                continue;
            }

            lock (entry)
            {
                if (entry.Removed)
                {
                    continue;
                }

                if (entry.ExpiresAt > now)
                {
                    var answer = entry.Completed ? IdempotencyClaim.Completed : IdempotencyClaim.HeldElsewhere;
                    var mismatch = hash is not null && entry.PayloadHash is not null && !hash.AsSpan().SequenceEqual(entry.PayloadHash);
                    return new(answer with { PayloadMismatch = mismatch });
                }

                // Expired: a lapsed lease is taken over; a lapsed completion is forgotten and claimed anew.
                entry.Token = Interlocked.Increment(ref _nextToken);
                entry.Completed = false;
                entry.ExpiresAt = Until(now, lease);
                entry.PayloadHash = hash;
                return new(IdempotencyClaim.Acquired(entry.Token));
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var claims = new IdempotencyClaim[requests.Count];
        for (var i = 0; i < claims.Length; i++)
        {
            claims[i] = await TryClaimAsync(requests[i], lease, cancellationToken).ConfigureAwait(false);
        }

        return claims;
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var results = new bool[completions.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = await CompleteAsync(completions[i].Key, completions[i].FencingToken, retention, cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    /// <inheritdoc/>
    public ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention, TimeSpan.Zero);
        if (!_entries.TryGetValue(key, out var entry))
        {
            return new(false);
        }

        lock (entry)
        {
            var now = _time.GetTimestamp();
            if (entry.Removed || entry.Token != fencingToken || entry.ExpiresAt <= now)
            {
                return new(false);
            }

            entry.Completed = true;
            entry.ExpiresAt = Until(now, retention);
            return new(true);
        }
    }

    /// <inheritdoc/>
    public ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        if (!_entries.TryGetValue(key, out var entry))
        {
            return new(false);
        }

        lock (entry)
        {
            var now = _time.GetTimestamp();
            if (entry.Removed || entry.Token != fencingToken || entry.Completed || entry.ExpiresAt <= now)
            {
                return new(false);
            }

            entry.ExpiresAt = Math.Max(entry.ExpiresAt, Until(now, lease));
            return new(true);
        }
    }

    /// <inheritdoc/>
    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (!_entries.TryGetValue(key, out var entry))
        {
            return new(false);
        }

        lock (entry)
        {
            if (entry.Removed || entry.Token != fencingToken || entry.Completed || entry.ExpiresAt <= _time.GetTimestamp())
            {
                return new(false);
            }

            entry.Removed = true;
            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            return new(true);
        }
    }

    /// <summary>
    /// The timestamp <paramref name="span"/> after <paramref name="now"/>. Leases and retention run on the monotonic
    /// timestamp of the <see cref="TimeProvider"/>, so a wall-clock step (NTP, a VM resumed) neither lapses nor
    /// stretches a lease.
    /// </summary>
    private long Until(long now, TimeSpan span)
    {
        var stamps = span.TotalSeconds * _time.TimestampFrequency;
        return stamps >= long.MaxValue - now ? long.MaxValue : now + (long)stamps;
    }

    /// <summary>Removes every expired record now (also runs on a timer).</summary>
    public void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var (key, entry) in _entries)
        {
            if (Volatile.Read(ref entry.ExpiresAt) > now)
            {
                continue;
            }

            lock (entry)
            {
                if (!entry.Removed && entry.ExpiresAt <= now)
                {
                    entry.Removed = true;
                    _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                }
            }
        }
    }

    /// <summary>Stops the sweep timer.</summary>
    public void Dispose() => _sweeper.Dispose();

    private sealed class Entry
    {
        public long Token;
        public long ExpiresAt;
        public bool Completed;
        public bool Removed;
        public byte[]? PayloadHash;
    }
}

/// <summary>Settings of <see cref="InMemoryIdempotencyStore"/>.</summary>
public sealed class InMemoryIdempotencyStoreOptions
{
    /// <summary>How often expired records are removed.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);
}
