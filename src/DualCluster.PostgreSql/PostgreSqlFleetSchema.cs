using DualCluster.Configuration;

namespace DualCluster.PostgreSql;

/// <summary>The table the PostgreSQL fleet registry uses, as SQL a DBA can run.</summary>
public static class PostgreSqlFleetSchema
{
    /// <summary>
    /// The idempotent script (<c>IF NOT EXISTS</c>) creating <c>{table}</c> in <paramref name="schema"/>: one row per node,
    /// holding its record and when it lapses on the server's clock.
    /// </summary>
    /// <exception cref="ArgumentException">A name is not a plain identifier.</exception>
    public static string CreateScript(string schema = "public", string table = "dualcluster_fleet")
    {
        OptionsProblems.ThrowIfAny(new PostgreSqlFleetRegistryOptions { Schema = schema, TableName = table }.Validate(hasDataSource: true));

        return $"""
            CREATE TABLE IF NOT EXISTS "{schema}"."{table}" (
                node_id    text        NOT NULL PRIMARY KEY,
                record     text        NOT NULL,
                expires_at timestamptz NOT NULL
            );
            """;
    }
}
