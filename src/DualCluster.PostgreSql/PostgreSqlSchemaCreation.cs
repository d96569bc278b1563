using Npgsql;

namespace DualCluster.PostgreSql;

/// <summary>Runs a create-if-missing script once per call, serialized across nodes by an advisory lock.</summary>
internal static class PostgreSqlSchemaCreation
{
    /// <param name="dataSource">Where to run it.</param>
    /// <param name="lockName">Names the advisory lock (the qualified table), so nodes creating the same objects take turns.</param>
    /// <param name="script">The idempotent script (<c>IF NOT EXISTS</c> throughout).</param>
    /// <param name="cancellationToken">Cancels the wait and the statements.</param>
    public static async Task RunAsync(NpgsqlDataSource dataSource, string lockName, string script, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext($1))", connection, transaction);
        await using (lockCommand.ConfigureAwait(false))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = lockName });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var createCommand = new NpgsqlCommand(script, connection, transaction);
        await using (createCommand.ConfigureAwait(false))
        {
            await createCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
