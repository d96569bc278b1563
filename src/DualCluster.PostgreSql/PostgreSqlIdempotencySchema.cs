namespace DualCluster.PostgreSql;

/// <summary>The table, index and sequence the PostgreSQL store uses, as SQL a DBA can run.</summary>
public static class PostgreSqlIdempotencySchema
{
    /// <summary>
    /// The idempotent script (<c>IF NOT EXISTS</c> throughout) creating the store's objects in <paramref name="schema"/>:
    /// <c>{table}</c> (one row per key: fencing token, completed flag, expiry on the server's clock, payload hash),
    /// <c>{table}_expires_at</c> (an index for the cleanup) and <c>{table}_token</c> (the fencing-token sequence).
    /// </summary>
    /// <exception cref="ArgumentException">A name is not a plain identifier.</exception>
    public static string CreateScript(string schema = "public", string table = "dualcluster_idempotency")
    {
        var problems = new PostgreSqlIdempotencyStoreOptions { Schema = schema, TableName = table, ConnectionString = "-" }.Validate(hasDataSource: true);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems));
        }

        return $"""
            CREATE TABLE IF NOT EXISTS "{schema}"."{table}" (
                key          text        NOT NULL PRIMARY KEY,
                token        bigint      NOT NULL,
                completed    boolean     NOT NULL DEFAULT false,
                expires_at   timestamptz NOT NULL,
                payload_hash bytea       NULL
            );
            CREATE INDEX IF NOT EXISTS "{table}_expires_at" ON "{schema}"."{table}" (expires_at);
            CREATE SEQUENCE IF NOT EXISTS "{schema}"."{table}_token" AS bigint;
            """;
    }
}
