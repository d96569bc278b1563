using DualCluster.Idempotency;

namespace DualCluster.PostgreSql;

/// <summary>Settings of <see cref="PostgreSqlIdempotencyStore"/>.</summary>
public sealed class PostgreSqlIdempotencyStoreOptions
{
    /// <summary>
    /// An Npgsql connection string. Leave empty to use an <see cref="Npgsql.NpgsqlDataSource"/> the application already
    /// has (registered in the container, or passed to the store's constructor).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The schema holding the table. Default <c>public</c>.</summary>
    public string Schema { get; set; } = "public";

    /// <summary>The table name (its sequence and index are named after it). Default <c>dualcluster_idempotency</c>.</summary>
    public string TableName { get; set; } = "dualcluster_idempotency";

    /// <summary>
    /// Whether the store creates its table, index and sequence on first use (idempotent, safe from many nodes at once).
    /// Turn off when DBAs create them from <see cref="PostgreSqlIdempotencySchema.CreateScript"/>. Default true.
    /// </summary>
    public bool CreateSchema { get; set; } = true;

    /// <summary>
    /// How often expired records are deleted in the background; <see cref="Timeout.InfiniteTimeSpan"/> turns the
    /// background cleanup off (call <see cref="PostgreSqlIdempotencyStore.DeleteExpiredAsync"/> yourself). Default 5 minutes.
    /// </summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many expired records one cleanup statement deletes at most (1..100,000). Default 1,000.</summary>
    public int CleanupBatchSize { get; set; } = 1_000;

    /// <summary>
    /// Whether the store's own commits wait for the WAL flush (PostgreSQL <c>synchronous_commit</c>). Default true:
    /// a claim or completion the store reported survives a database crash. False sets <c>synchronous_commit=off</c>
    /// on the store's connections: several times the throughput where disk flushes are slow, at the cost that a
    /// database crash may forget the last fraction of a second of records (a duplicate arriving after that may be
    /// processed again; nothing is corrupted or lost). Only for connections the store opens itself
    /// (<see cref="ConnectionString"/>); same-transaction completions follow the handler's transaction.
    /// </summary>
    public bool SynchronousCommit { get; set; } = true;

    /// <summary>
    /// Sends claims and completions that arrive while another call is in flight together, as one batch call
    /// (<see cref="DualCluster.Idempotency.CoalescingIdempotencyStore"/>): a consumer running many handlers at once
    /// pays one round trip per batch instead of one per message. On by default; a call never waits for a batch to fill.
    /// </summary>
    public bool CoalesceConcurrentCalls { get; set; } = true;

    /// <summary>An optional in-process cache of completed keys in front of PostgreSQL. Off by default.</summary>
    public LocalCacheOptions LocalCache { get; set; } = new();

    /// <summary>Returns the problems with these settings (empty when valid).</summary>
    /// <param name="hasDataSource">Whether a data source is supplied, so <see cref="ConnectionString"/> may be empty.</param>
    public IReadOnlyList<string> Validate(bool hasDataSource)
    {
        var problems = new List<string>();
        if (!hasDataSource && string.IsNullOrWhiteSpace(ConnectionString))
        {
            problems.Add("PostgreSQL idempotency store: set ConnectionString (e.g. \"Host=db;Username=app;Password=…;Database=app\") or register an NpgsqlDataSource.");
        }

        if (!SynchronousCommit && string.IsNullOrWhiteSpace(ConnectionString))
        {
            problems.Add("PostgreSQL idempotency store: SynchronousCommit = false applies only to connections the store opens itself: set ConnectionString, or set synchronous_commit on your own data source.");
        }

        if (!PostgreSqlIdentifier.IsValid(Schema))
        {
            problems.Add($"PostgreSQL idempotency store: Schema '{Schema}' must be a plain identifier (letters, digits, '_', at most 63 characters, not starting with a digit).");
        }

        if (!PostgreSqlIdentifier.IsValid(TableName, 40))
        {
            problems.Add($"PostgreSQL idempotency store: TableName '{TableName}' must be a plain identifier of at most 40 characters (letters, digits, '_', not starting with a digit).");
        }

        if (CleanupInterval <= TimeSpan.Zero && CleanupInterval != Timeout.InfiniteTimeSpan)
        {
            problems.Add($"PostgreSQL idempotency store: CleanupInterval must be positive, or Timeout.InfiniteTimeSpan to turn the cleanup off (was {CleanupInterval}).");
        }

        if (CleanupBatchSize is < 1 or > 100_000)
        {
            problems.Add($"PostgreSQL idempotency store: CleanupBatchSize must be between 1 and 100000 (was {CleanupBatchSize}).");
        }

        if (LocalCache?.Validate("PostgreSQL idempotency store: LocalCache") is { } cacheProblem)
        {
            problems.Add(cacheProblem);
        }

        return problems;
    }
}
