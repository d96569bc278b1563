using System.Globalization;
using DualCluster.Idempotency;
using StackExchange.Redis;

namespace DualCluster.Redis;

/// <summary>
/// A fleet-wide <see cref="IIdempotencyStore"/> in Redis. Each operation (claim, complete, renew, release) is one
/// server-side script (one round trip, atomic); <see cref="TryClaimManyAsync"/> and <see cref="CompleteManyAsync"/>
/// handle a whole batch in one round trip (one script call per chunk of keys). Leases, their renewals and retention
/// run on the Redis server's clock (key TTLs), so node clocks do not matter and completed records expire by
/// themselves. Thread-safe. Any Redis error or timeout surfaces as <see cref="IdempotencyStoreUnavailableException"/>.
/// Durability is Redis's: run it with AOF (<c>appendonly yes</c>) or replication if records must survive a crash.
/// </summary>
public sealed class RedisIdempotencyStore : IIdempotencyStore, IDisposable
{
    private const int ChunkSize = 256;
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly bool _ownsMultiplexer;
    private readonly IDatabase _database;
    private readonly string _prefix;

    /// <summary>Uses a multiplexer the application already has (it stays the application's to dispose).</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public RedisIdempotencyStore(IConnectionMultiplexer multiplexer, RedisIdempotencyStoreOptions? options = null)
        : this(multiplexer, options ?? new RedisIdempotencyStoreOptions(), ownsMultiplexer: false)
    {
    }

    private RedisIdempotencyStore(IConnectionMultiplexer multiplexer, RedisIdempotencyStoreOptions options, bool ownsMultiplexer)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate(hasMultiplexer: true);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _multiplexer = multiplexer;
        _ownsMultiplexer = ownsMultiplexer;
        _database = multiplexer.GetDatabase(options.Database);
        _prefix = options.KeyPrefix;
    }

    /// <summary>
    /// Connects to <see cref="RedisIdempotencyStoreOptions.Configuration"/> and owns the connection (disposed with the
    /// store). The connection retries in the background, so a Redis that is down at start does not fail this call;
    /// operations fail with <see cref="IdempotencyStoreUnavailableException"/> until it is up.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static RedisIdempotencyStore Connect(RedisIdempotencyStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate(hasMultiplexer: false);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        var configuration = ConfigurationOptions.Parse(options.Configuration!);
        configuration.AbortOnConnectFail = false;
        return new RedisIdempotencyStore(ConnectionMultiplexer.Connect(configuration), options, ownsMultiplexer: true);
    }

    /// <summary>The multiplexer the store uses.</summary>
    public IConnectionMultiplexer Multiplexer => _multiplexer;

    /// <inheritdoc/>
    public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        => TryClaimAsync(new IdempotencyClaimRequest(key), lease, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.Key);
        var leaseMs = Milliseconds(lease);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var result = await ClaimAsync(_database, request, leaseMs).WaitAsync(cancellationToken).ConfigureAwait(false);
            return ToClaim(result);
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("claim", ex);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The batch is claimed by one script call per chunk of up to 256 keys (on Redis Cluster: per hash slot), all
    /// chunks pipelined in one write, so a batch costs one round trip.
    /// </remarks>
    public async ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var leaseMs = Milliseconds(lease);
        foreach (var request in requests)
        {
            ArgumentException.ThrowIfNullOrEmpty(request.Key, nameof(requests));
        }

        if (requests.Count == 0)
        {
            return [];
        }

        cancellationToken.ThrowIfCancellationRequested();
        var chunks = Chunk(requests.Count, i => requests[i].Key);
        var claims = new IdempotencyClaim[requests.Count];
        try
        {
            var results = await RunChunksAsync(chunks, (database, chunk) =>
            {
                var keys = new RedisKey[chunk.Count];
                var values = new RedisValue[chunk.Count + 1];
                values[0] = leaseMs;
                for (var j = 0; j < chunk.Count; j++)
                {
                    var request = requests[chunk[j]];
                    keys[j] = Key(request.Key);
                    values[j + 1] = request.PayloadHash.IsEmpty ? RedisValue.EmptyString : (RedisValue)request.PayloadHash;
                }

                return database.ScriptEvaluateAsync(RedisScripts.ClaimMany, keys, values);
            }).WaitAsync(cancellationToken).ConfigureAwait(false);
            for (var c = 0; c < chunks.Count; c++)
            {
                var parts = (RedisResult[])results[c]!;
                for (var j = 0; j < chunks[c].Count; j++)
                {
                    claims[chunks[c][j]] = ToClaim((int)parts[3 * j], parts[(3 * j) + 1], (int)parts[(3 * j) + 2]);
                }
            }
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("claim a batch", ex);
        }

        return claims;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var retentionMs = Milliseconds(retention);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var result = await CompleteAsync(_database, key, fencingToken, retentionMs).WaitAsync(cancellationToken).ConfigureAwait(false);
            return (int)result == 1;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("complete", ex);
        }
    }

    /// <inheritdoc/>
    /// <remarks>One script call per chunk of up to 256 keys (on Redis Cluster: per hash slot), pipelined: one round trip.</remarks>
    public async ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var retentionMs = Milliseconds(retention);
        foreach (var completion in completions)
        {
            ArgumentException.ThrowIfNullOrEmpty(completion.Key, nameof(completions));
        }

        if (completions.Count == 0)
        {
            return [];
        }

        cancellationToken.ThrowIfCancellationRequested();
        var chunks = Chunk(completions.Count, i => completions[i].Key);
        var done = new bool[completions.Count];
        try
        {
            var results = await RunChunksAsync(chunks, (database, chunk) =>
            {
                var keys = new RedisKey[chunk.Count];
                var values = new RedisValue[chunk.Count + 1];
                values[0] = retentionMs;
                for (var j = 0; j < chunk.Count; j++)
                {
                    keys[j] = Key(completions[chunk[j]].Key);
                    values[j + 1] = Token(completions[chunk[j]].FencingToken);
                }

                return database.ScriptEvaluateAsync(RedisScripts.CompleteMany, keys, values);
            }).WaitAsync(cancellationToken).ConfigureAwait(false);
            for (var c = 0; c < chunks.Count; c++)
            {
                var parts = (RedisResult[])results[c]!;
                for (var j = 0; j < chunks[c].Count; j++)
                {
                    done[chunks[c][j]] = (int)parts[j] == 1;
                }
            }
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("complete a batch", ex);
        }

        return done;
    }

    /// <inheritdoc/>
    /// <remarks>One script call: the key's TTL becomes <paramref name="lease"/> from now on the Redis server's clock.</remarks>
    public async ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var leaseMs = Milliseconds(lease);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var result = await _database.ScriptEvaluateAsync(RedisScripts.Renew, [Key(key)], [Token(fencingToken), leaseMs])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            return (int)result == 1;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("renew", ex);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var result = await _database.ScriptEvaluateAsync(RedisScripts.Release, [Key(key)], [Token(fencingToken)])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            return (int)result == 1;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("release", ex);
        }
    }

    /// <summary>Closes the connection when the store opened it; a multiplexer passed in is left open.</summary>
    public void Dispose()
    {
        if (_ownsMultiplexer)
        {
            _multiplexer.Dispose();
        }
    }

    /// <summary>
    /// Splits a batch into script calls: chunks of at most <see cref="ChunkSize"/> keys in order; on Redis Cluster
    /// each chunk also holds keys of one hash slot only (a script may only touch keys of one slot there).
    /// </summary>
    private List<List<int>> Chunk(int count, Func<int, string> keyAt)
    {
        var chunks = new List<List<int>>();
        if (!IsCluster())
        {
            for (var start = 0; start < count; start += ChunkSize)
            {
                chunks.Add(Enumerable.Range(start, Math.Min(ChunkSize, count - start)).ToList());
            }

            return chunks;
        }

        var bySlot = new Dictionary<int, List<int>>();
        for (var i = 0; i < count; i++)
        {
            var slot = _multiplexer.HashSlot(Key(keyAt(i)));
            if (!bySlot.TryGetValue(slot, out var chunk) || chunk.Count == ChunkSize)
            {
                bySlot[slot] = chunk = [];
                chunks.Add(chunk);
            }

            chunk.Add(i);
        }

        return chunks;
    }

    private async Task<RedisResult[]> RunChunksAsync(List<List<int>> chunks, Func<IDatabaseAsync, List<int>, Task<RedisResult>> call)
    {
        if (chunks.Count == 1)
        {
            return [await call(_database, chunks[0]).ConfigureAwait(false)];
        }

        var batch = _database.CreateBatch();
        var pending = new Task<RedisResult>[chunks.Count];
        for (var c = 0; c < pending.Length; c++)
        {
            pending[c] = call(batch, chunks[c]);
        }

        batch.Execute();
        return await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private bool IsCluster()
    {
        foreach (var server in _multiplexer.GetServers())
        {
            if (server.ServerType == ServerType.Cluster)
            {
                return true;
            }
        }

        return false;
    }

    private Task<RedisResult> ClaimAsync(IDatabaseAsync database, IdempotencyClaimRequest request, long leaseMs)
    {
        var hash = request.PayloadHash.IsEmpty ? RedisValue.EmptyString : (RedisValue)request.PayloadHash;
        return database.ScriptEvaluateAsync(RedisScripts.Claim, [Key(request.Key)], [leaseMs, hash]);
    }

    private Task<RedisResult> CompleteAsync(IDatabaseAsync database, string key, long fencingToken, long retentionMs)
        => database.ScriptEvaluateAsync(RedisScripts.Complete, [Key(key)], [Token(fencingToken), retentionMs]);

    private RedisKey Key(string key) => _prefix.Length == 0 ? (RedisKey)key : (RedisKey)(_prefix + key);

    private static RedisValue Token(long fencingToken) => fencingToken.ToString(CultureInfo.InvariantCulture);

    private static IdempotencyClaim ToClaim(RedisResult result)
    {
        var parts = (RedisResult[])result!;
        return ToClaim((int)parts[0], parts[1], (int)parts[2]);
    }

    private static IdempotencyClaim ToClaim(int status, RedisResult token, int mismatch) => status switch
    {
        0 => IdempotencyClaim.Acquired((long)token),
        1 => IdempotencyClaim.Completed with { PayloadMismatch = mismatch == 1 },
        _ => IdempotencyClaim.HeldElsewhere with { PayloadMismatch = mismatch == 1 },
    };

    private static long Milliseconds(TimeSpan duration, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(duration))] string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero, name);
        return Math.Max(1, (long)Math.Ceiling(duration.TotalMilliseconds));
    }

    private static bool IsOutage(Exception ex) => ex is RedisException or TimeoutException or ObjectDisposedException;

    private static IdempotencyStoreUnavailableException Unavailable(string operation, Exception inner) =>
        new($"The Redis idempotency store could not {operation}: {inner.Message} " +
            "Nothing was acked; the message will be redelivered once Redis answers again.", inner);
}
