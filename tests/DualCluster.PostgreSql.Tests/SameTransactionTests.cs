using DualCluster.Idempotency;
using Npgsql;

namespace DualCluster.PostgreSql.Tests;

/// <summary>
/// A handler that writes to the same database completes its claim inside its own transaction, so the business write
/// and the idempotency record commit or roll back together.
/// </summary>
public sealed class SameTransactionTests(PostgreSqlServerFixture fixture) : IClassFixture<PostgreSqlServerFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);
    private NpgsqlDataSource _dataSource = null!;
    private PostgreSqlIdempotencyStore _store = null!;

    public async Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        _store = new PostgreSqlIdempotencyStore(_dataSource, new PostgreSqlIdempotencyStoreOptions { TableName = "tx_idempotency" });
        await using var create = _dataSource.CreateCommand(
            "CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, amount int NOT NULL CHECK (amount > 0))");
        await create.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _dataSource.DisposeAsync();
    }

    [Fact]
    public async Task Failing_business_write_leaves_no_idempotency_record()
    {
        var key = $"order-{Guid.NewGuid():N}";
        var claim = await _store.TryClaimAsync(key, Lease);

        // The handler: one good write, the completion, then a write the database rejects.
        var handler = async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await InsertOrderAsync(connection, transaction, key, amount: 10);
            Assert.True(await _store.CompleteAsync(transaction, key, claim.FencingToken, Retention));
            await InsertOrderAsync(connection, transaction, key + "-line", amount: -1);
            await transaction.CommitAsync();
        };
        await Assert.ThrowsAsync<PostgresException>(handler);

        // The gate sees the handler fail and releases the claim.
        Assert.True(await _store.ReleaseAsync(key, claim.FencingToken));
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM tx_idempotency WHERE key = $1", key));
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM orders WHERE id = $1", key));
        Assert.Equal(ClaimStatus.Acquired, (await _store.TryClaimAsync(key, Lease)).Status);
    }

    [Fact]
    public async Task Committed_business_write_and_completion_land_together()
    {
        var key = $"order-{Guid.NewGuid():N}";
        var claim = await _store.TryClaimAsync(key, Lease);

        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await InsertOrderAsync(connection, transaction, key, amount: 10);
            Assert.True(await _store.CompleteAsync(transaction, key, claim.FencingToken, Retention));
            await transaction.CommitAsync();
        }

        Assert.Equal(1L, await CountAsync("SELECT count(*) FROM orders WHERE id = $1", key));
        Assert.Equal(ClaimStatus.Completed, (await _store.TryClaimAsync(key, Lease)).Status);

        // The gate completes again after the handler returns: still the holder, still success.
        Assert.True(await _store.CompleteAsync(key, claim.FencingToken, Retention));
    }

    [Fact]
    public async Task Stale_token_is_refused_inside_the_transaction_so_the_handler_rolls_back()
    {
        var key = $"order-{Guid.NewGuid():N}";
        var claim = await _store.TryClaimAsync(key, Lease);

        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.False(await _store.CompleteAsync(transaction, key, claim.FencingToken + 1, Retention));
        await transaction.RollbackAsync();
        Assert.Equal(ClaimStatus.HeldElsewhere, (await _store.TryClaimAsync(key, Lease)).Status);
    }

    private static async Task InsertOrderAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id, int amount)
    {
        await using var insert = new NpgsqlCommand("INSERT INTO orders (id, amount) VALUES ($1, $2)", connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = amount });
        await insert.ExecuteNonQueryAsync();
    }

    private async Task<long> CountAsync(string sql, string key)
    {
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
