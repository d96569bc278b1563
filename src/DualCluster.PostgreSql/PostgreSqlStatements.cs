namespace DualCluster.PostgreSql;

/// <summary>
/// The SQL of one store, for its table. Every expiry is judged by the server's <c>clock_timestamp()</c>, so node clocks
/// do not matter. Parameters: <c>$1</c> key, then as named in each statement.
/// </summary>
internal sealed class PostgreSqlStatements
{
    public PostgreSqlStatements(string schema, string table)
    {
        var t = $"\"{schema}\".\"{table}\"";
        var sequence = $"\"{schema}\".\"{table}_token\"";
        Create = PostgreSqlIdempotencySchema.CreateScript(schema, table);

        // Insert, or take over a record whose lease (or retention) expired, atomically. When the key is live the
        // second branch reports its state from the statement's snapshot; it yields no row if that snapshot predates
        // a concurrent claim (the caller then asks again). $2 lease, $3 payload hash or null.
        Claim = $"""
            WITH claimed AS (
                INSERT INTO {t} AS r (key, token, completed, expires_at, payload_hash)
                VALUES ($1, nextval('{sequence}'), false, clock_timestamp() + $2, $3)
                ON CONFLICT (key) DO UPDATE
                    SET token = EXCLUDED.token, completed = false, expires_at = EXCLUDED.expires_at, payload_hash = EXCLUDED.payload_hash
                    WHERE r.expires_at <= clock_timestamp()
                RETURNING r.token
            )
            SELECT 0, token, false FROM claimed
            UNION ALL
            SELECT CASE WHEN completed THEN 1 ELSE 2 END, 0, ($3 IS NOT NULL AND payload_hash IS NOT NULL AND payload_hash <> $3)
            FROM {t}
            WHERE key = $1 AND expires_at > clock_timestamp() AND NOT EXISTS (SELECT 1 FROM claimed)
            """;

        // $2 token, $3 retention. Completing again with the same token succeeds (and restarts the retention).
        Complete = $"""
            UPDATE {t} SET completed = true, expires_at = clock_timestamp() + $3
            WHERE key = $1 AND token = $2 AND expires_at > clock_timestamp()
            """;

        // $2 token, $3 lease. Only a live, pending claim of the current holder; a renewal never shortens a lease.
        Renew = $"""
            UPDATE {t} SET expires_at = GREATEST(expires_at, clock_timestamp() + $3)
            WHERE key = $1 AND token = $2 AND NOT completed AND expires_at > clock_timestamp()
            """;

        // $2 token.
        Release = $"""
            DELETE FROM {t} WHERE key = $1 AND token = $2 AND NOT completed AND expires_at > clock_timestamp()
            """;

        // $1 batch size. SKIP LOCKED: rows a claim is taking over right now are left alone, so a cleanup never
        // waits on a claim; a claim waits at most for one bounded batch.
        DeleteExpired = $"""
            DELETE FROM {t} WHERE key IN (
                SELECT key FROM {t} WHERE expires_at < clock_timestamp()
                ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
            AND expires_at < clock_timestamp()
            """;
    }

    public string Create { get; }

    public string Claim { get; }

    public string Complete { get; }

    public string Renew { get; }

    public string Release { get; }

    public string DeleteExpired { get; }
}
