namespace DualCluster.PostgreSql;

/// <summary>Settings of <see cref="PostgreSqlFleetRegistry"/>.</summary>
public sealed class PostgreSqlFleetRegistryOptions
{
    /// <summary>The schema holding the table. Default <c>public</c>.</summary>
    public string Schema { get; set; } = "public";

    /// <summary>
    /// The table name. Registries on different tables do not see each other's nodes (several applications or
    /// environments in one database). Default <c>dualcluster_fleet</c>.
    /// </summary>
    public string TableName { get; set; } = "dualcluster_fleet";

    /// <summary>
    /// Whether the registry creates its table on first use (idempotent, safe from many nodes at once). Turn off when
    /// DBAs create it from <see cref="PostgreSqlFleetSchema.CreateScript"/>. Default true.
    /// </summary>
    public bool CreateSchema { get; set; } = true;

    /// <summary>Returns the problems with these settings (empty when valid).</summary>
    /// <param name="hasDataSource">Whether there is a data source to use (the idempotency store's or a registered one).</param>
    public IReadOnlyList<string> Validate(bool hasDataSource)
    {
        var problems = new List<string>();
        if (!hasDataSource)
        {
            problems.Add("PostgreSQL fleet registry: it shares the PostgreSQL idempotency store's data source: call UsePostgreSqlIdempotencyStore, or register an NpgsqlDataSource.");
        }

        if (!PostgreSqlIdentifier.IsValid(Schema))
        {
            problems.Add($"PostgreSQL fleet registry: Schema '{Schema}' must be a plain identifier (letters, digits, '_', at most 63 characters, not starting with a digit).");
        }

        if (!PostgreSqlIdentifier.IsValid(TableName))
        {
            problems.Add($"PostgreSQL fleet registry: TableName '{TableName}' must be a plain identifier (letters, digits, '_', at most 63 characters, not starting with a digit).");
        }

        return problems;
    }
}
