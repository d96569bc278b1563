using DualCluster.Idempotency;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace DualCluster.PostgreSql.Tests;

public sealed class PostgreSqlIdempotencyStoreTests(PostgreSqlServerFixture fixture) : IClassFixture<PostgreSqlServerFixture>, IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;

    public Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private static string NewTable() => $"t_{Guid.NewGuid():N}"[..30];

    private PostgreSqlIdempotencyStore CreateStore(string table, bool createSchema = true, int batch = 1000, TimeProvider? time = null, TimeSpan? cleanup = null) =>
        new(_dataSource, new PostgreSqlIdempotencyStoreOptions
        {
            TableName = table,
            CreateSchema = createSchema,
            CleanupBatchSize = batch,
            CleanupInterval = cleanup ?? Timeout.InfiniteTimeSpan,
        }, time);

    private async Task<long> ScalarAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Schema_is_created_on_first_use_and_creating_it_again_is_harmless()
    {
        var table = NewTable();
        await using var store = CreateStore(table);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store.EnsureSchemaAsync()));
        await store.TryClaimAsync("k", TimeSpan.FromMinutes(1));
        await store.EnsureSchemaAsync();

        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM \"{table}\""));
    }

    [Fact]
    public async Task Documented_script_creates_what_a_store_without_schema_creation_needs()
    {
        var table = NewTable();
        await ExecuteAsync(PostgreSqlIdempotencySchema.CreateScript("public", table));
        await ExecuteAsync(PostgreSqlIdempotencySchema.CreateScript("public", table));
        await using var store = CreateStore(table, createSchema: false);

        var claim = await store.TryClaimAsync("k", TimeSpan.FromMinutes(1));

        Assert.Equal(ClaimStatus.Acquired, claim.Status);
        Assert.True(await store.CompleteAsync("k", claim.FencingToken, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task Missing_table_without_schema_creation_fails_with_a_clear_exception()
    {
        await using var store = CreateStore(NewTable(), createSchema: false);

        var failure = await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(() => store.TryClaimAsync("k", TimeSpan.FromMinutes(1)).AsTask());

        Assert.Contains("does not exist", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cleanup_deletes_expired_records_in_bounded_batches_and_keeps_live_ones()
    {
        var table = NewTable();
        await using var store = CreateStore(table, batch: 7);
        await store.EnsureSchemaAsync();
        await ExecuteAsync($"INSERT INTO \"{table}\" (key, token, completed, expires_at) SELECT 'old' || i, i, true, now() - interval '1 hour' FROM generate_series(1, 25) i");
        var live = await store.TryClaimAsync("live", TimeSpan.FromMinutes(5));
        await store.CompleteAsync("live", live.FencingToken, TimeSpan.FromDays(1));

        var deleted = await store.DeleteExpiredAsync();

        Assert.Equal(25, deleted);
        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM \"{table}\""));
        Assert.Equal(ClaimStatus.Completed, (await store.TryClaimAsync("live", TimeSpan.FromMinutes(1))).Status);
    }

    [Fact]
    public async Task Cleanup_skips_rows_a_claim_holds_instead_of_waiting_for_it()
    {
        var table = NewTable();
        await using var store = CreateStore(table);
        await store.EnsureSchemaAsync();
        await ExecuteAsync($"INSERT INTO \"{table}\" (key, token, completed, expires_at) VALUES ('busy', 1, true, now() - interval '1 hour'), ('idle', 2, true, now() - interval '1 hour')");

        // A claim taking 'busy' over holds its row lock inside a transaction that has not committed yet.
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand($"SELECT 1 FROM \"{table}\" WHERE key = 'busy' FOR UPDATE", connection, transaction))
        {
            await hold.ExecuteNonQueryAsync();
        }

        var deleted = await store.DeleteExpiredAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await transaction.RollbackAsync();

        Assert.Equal(1, deleted);
        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM \"{table}\" WHERE key = 'busy'"));
    }

    [Fact]
    public async Task Background_cleanup_runs_on_the_configured_interval()
    {
        var table = NewTable();
        var time = new FakeTimeProvider();
        await using var store = CreateStore(table, time: time, cleanup: TimeSpan.FromMinutes(5));
        await store.EnsureSchemaAsync();
        await ExecuteAsync($"INSERT INTO \"{table}\" (key, token, completed, expires_at) VALUES ('old', 1, true, now() - interval '1 hour')");

        time.Advance(TimeSpan.FromMinutes(5));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await ScalarAsync($"SELECT count(*) FROM \"{table}\"") != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the background cleanup did not delete the expired record within 30 s");
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task Claim_after_a_record_was_cleaned_up_gets_a_greater_token()
    {
        var table = NewTable();
        await using var store = CreateStore(table);
        var first = await store.TryClaimAsync("k", TimeSpan.FromMinutes(1));
        await ExecuteAsync($"UPDATE \"{table}\" SET expires_at = now() - interval '1 second'");
        await store.DeleteExpiredAsync();

        var second = await store.TryClaimAsync("k", TimeSpan.FromMinutes(1));

        Assert.True(second.FencingToken > first.FencingToken);
    }

    [Fact]
    public async Task Asynchronous_commit_is_applied_to_the_stores_own_connections_only_when_asked()
    {
        await using var durable = PostgreSqlIdempotencyStore.Create(new PostgreSqlIdempotencyStoreOptions { ConnectionString = fixture.Server.ConnectionString, TableName = NewTable() });
        await using var fast = PostgreSqlIdempotencyStore.Create(new PostgreSqlIdempotencyStoreOptions { ConnectionString = fixture.Server.ConnectionString, TableName = NewTable(), SynchronousCommit = false });

        Assert.Equal("on", await ShowAsync(durable));
        Assert.Equal("off", await ShowAsync(fast));
        Assert.Equal(ClaimStatus.Acquired, (await fast.TryClaimAsync("k", TimeSpan.FromMinutes(1))).Status);
        Assert.Throws<ArgumentException>(() => new PostgreSqlIdempotencyStore(_dataSource, new PostgreSqlIdempotencyStoreOptions { SynchronousCommit = false }));

        static async Task<string?> ShowAsync(PostgreSqlIdempotencyStore store)
        {
            await using var command = store.DataSource.CreateCommand("SHOW synchronous_commit");
            return (string?)await command.ExecuteScalarAsync();
        }
    }

    [Fact]
    public async Task Renewal_moves_the_expiry_of_the_row_in_the_configured_schema_and_table_on_the_servers_clock()
    {
        var schema = $"s_{Guid.NewGuid():N}"[..20];
        var table = NewTable();
        await ExecuteAsync($"CREATE SCHEMA \"{schema}\"");
        await using var store = new PostgreSqlIdempotencyStore(_dataSource, new PostgreSqlIdempotencyStoreOptions
        {
            Schema = schema,
            TableName = table,
            CleanupInterval = Timeout.InfiniteTimeSpan,
        });
        var remaining = $"SELECT extract(epoch FROM expires_at - clock_timestamp())::bigint FROM \"{schema}\".\"{table}\" WHERE key = 'k'";

        var claim = await store.TryClaimAsync("k", TimeSpan.FromMinutes(1));
        Assert.True(await store.RenewAsync("k", claim.FencingToken, TimeSpan.FromHours(1)));
        var renewed = await ScalarAsync(remaining);
        Assert.True(await store.RenewAsync("k", claim.FencingToken, TimeSpan.FromMinutes(1)));
        var notShortened = await ScalarAsync(remaining);

        Assert.InRange(renewed, 3590, 3600);
        Assert.InRange(notShortened, 3590, 3600);
    }

    [Fact]
    public void Invalid_options_are_rejected_with_a_message_naming_the_fix()
    {
        var noConnection = Assert.Throws<ArgumentException>(() => PostgreSqlIdempotencyStore.Create(new PostgreSqlIdempotencyStoreOptions()));
        Assert.Contains("ConnectionString", noConnection.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new PostgreSqlIdempotencyStore(_dataSource, new PostgreSqlIdempotencyStoreOptions { TableName = "x; DROP TABLE y" }));
        Assert.Throws<ArgumentException>(() => new PostgreSqlIdempotencyStore(_dataSource, new PostgreSqlIdempotencyStoreOptions { CleanupBatchSize = 0 }));
        Assert.Throws<ArgumentException>(() => new PostgreSqlIdempotencyStore(_dataSource, new PostgreSqlIdempotencyStoreOptions { CleanupInterval = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => PostgreSqlIdempotencySchema.CreateScript("public", "bad-name"));
    }
}
