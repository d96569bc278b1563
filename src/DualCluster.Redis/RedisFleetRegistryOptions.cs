namespace DualCluster.Redis;

/// <summary>Settings of <see cref="RedisFleetRegistry"/>.</summary>
public sealed class RedisFleetRegistryOptions
{
    /// <summary>
    /// Prepended to every key of the registry, so several applications (or environments) can share one Redis; registries
    /// with different prefixes do not see each other's nodes. It is also the keys' hash tag (<c>{prefix}…</c>), so all
    /// keys of one registry live in one hash slot on Redis Cluster: it must not be empty nor hold <c>{</c> or <c>}</c>.
    /// Default <c>dualcluster:fleet:</c> (next to the idempotency store's <c>dualcluster:idempotency:</c>).
    /// </summary>
    public string KeyPrefix { get; set; } = "dualcluster:fleet:";

    /// <summary>
    /// The Redis database number; -1 (default) uses the idempotency store's database when the registry shares its
    /// connection through <c>UseRedisFleetRegistry</c>, else the connection's default database.
    /// </summary>
    public int Database { get; set; } = -1;

    /// <summary>Returns the problems with these settings (empty when valid).</summary>
    /// <param name="hasConnection">Whether there is a connection to use (the idempotency store's or a registered multiplexer).</param>
    public IReadOnlyList<string> Validate(bool hasConnection)
    {
        var problems = new List<string>();
        if (!hasConnection)
        {
            problems.Add("Redis fleet registry: it shares the Redis idempotency store's connection: call UseRedisIdempotencyStore, or register an IConnectionMultiplexer.");
        }

        if (string.IsNullOrEmpty(KeyPrefix) || KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            problems.Add($"Redis fleet registry: KeyPrefix '{KeyPrefix}' must be non-empty and hold no '{{' or '}}' (it is the keys' hash tag on Redis Cluster).");
        }

        if (Database < -1)
        {
            problems.Add($"Redis fleet registry: Database must be -1 (default) or a database number (was {Database}).");
        }

        return problems;
    }
}
