using DualCluster.Idempotency;

namespace DualCluster.Redis;

/// <summary>Settings of <see cref="RedisIdempotencyStore"/>.</summary>
public sealed class RedisIdempotencyStoreOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string (e.g. <c>redis1:6379,password=…,ssl=true</c>). Leave empty to use an
    /// <see cref="StackExchange.Redis.IConnectionMultiplexer"/> the application already has.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Prepended to every key, so several applications (or environments) can share one Redis. Default
    /// <c>dualcluster:idempotency:</c>; may be empty.
    /// </summary>
    public string KeyPrefix { get; set; } = "dualcluster:idempotency:";

    /// <summary>The Redis database number; -1 (default) uses the connection's default database.</summary>
    public int Database { get; set; } = -1;

    /// <summary>
    /// Sends claims and completions that arrive while another call is in flight together, as one batch call
    /// (<see cref="DualCluster.Idempotency.CoalescingIdempotencyStore"/>): a consumer running many handlers at once
    /// pays one round trip per batch instead of one per message. On by default; a call never waits for a batch to fill.
    /// </summary>
    public bool CoalesceConcurrentCalls { get; set; } = true;

    /// <summary>An optional in-process cache of completed keys in front of Redis. Off by default.</summary>
    public LocalCacheOptions LocalCache { get; set; } = new();

    /// <summary>Returns the problems with these settings (empty when valid).</summary>
    /// <param name="hasMultiplexer">Whether a multiplexer is supplied, so <see cref="Configuration"/> may be empty.</param>
    public IReadOnlyList<string> Validate(bool hasMultiplexer)
    {
        var problems = new List<string>();
        if (!hasMultiplexer && string.IsNullOrWhiteSpace(Configuration))
        {
            problems.Add("Redis idempotency store: set Configuration to a Redis connection string (e.g. \"localhost:6379\") or register an IConnectionMultiplexer.");
        }

        if (KeyPrefix is null)
        {
            problems.Add("Redis idempotency store: KeyPrefix must not be null (use \"\" for no prefix).");
        }

        if (Database < -1)
        {
            problems.Add($"Redis idempotency store: Database must be -1 (default) or a database number (was {Database}).");
        }

        if (LocalCache?.Validate("Redis idempotency store: LocalCache") is { } cacheProblem)
        {
            problems.Add(cacheProblem);
        }

        return problems;
    }
}
