using DualCluster.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DualCluster.PostgreSql.Tests;

/// <summary>
/// A real consumer on the in-memory broker whose handler writes to PostgreSQL and completes its claim in the same
/// transaction: a failed attempt leaves neither the business row nor the record, the redelivery writes both, and a
/// duplicate (mirror write) is skipped — the business row exists exactly once.
/// </summary>
public sealed class SameTransactionThroughConsumerTests(PostgreSqlServerFixture fixture) : IClassFixture<PostgreSqlServerFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Handler_completing_in_its_own_transaction_has_its_effect_exactly_once_across_failure_and_duplicates()
    {
        const string Topic = "payments";
        var group = $"payment-group-{Guid.NewGuid():N}";
        var table = $"payments_{Guid.NewGuid():N}"[..24];
        await using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        await using (var create = dataSource.CreateCommand($"CREATE TABLE {table} (id text PRIMARY KEY, amount int NOT NULL CHECK (amount > 0))"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var old = new InMemoryBroker();
        var @new = new InMemoryBroker();
        foreach (var broker in new[] { old, @new })
        {
            broker.CreateTopic(Topic, 1);
            broker.ConfigureGroup(group, startPosition: ConsumeStartPosition.Earliest);
        }

        var attempts = 0;
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DualCluster:NodeId"] = "node-1",
            ["DualCluster:Clusters:Old:Protocol"] = "InMemory",
            ["DualCluster:Clusters:New:Protocol"] = "InMemory",
            ["DualCluster:Producer:NewWeight"] = "0",
            ["DualCluster:Consumer:NewWeight"] = "0",
            ["DualCluster:Consumer:DoubleRead"] = "true",
        });
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseInMemoryBrokers(old, @new, new InMemoryTransportOptions
            {
                PollTimeout = TimeSpan.FromMilliseconds(200),
                RetryBackoff = _ => TimeSpan.FromMilliseconds(100),
            })
            .UsePostgreSqlIdempotencyStore(o => o.TableName = $"{table}_idem")
            .AddConsumer(group, Topic, async (context, ct) =>
            {
                var attempt = Interlocked.Increment(ref attempts);
                var store = context.Services.GetRequiredService<PostgreSqlIdempotencyStore>();
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                await using var transaction = await connection.BeginTransactionAsync(ct);
                await InsertAsync(connection, transaction, table, context.IdempotencyKey, 10);
                if (!await store.CompleteAsync(transaction, context.StoreKey, context.FencingToken, TimeSpan.FromDays(1), ct))
                {
                    throw new InvalidOperationException("lost the claim");
                }

                // The first attempt's last business write is rejected by the database: everything above rolls back.
                await InsertAsync(connection, transaction, table, context.IdempotencyKey + "-fee", attempt == 1 ? -1 : 1);
                await transaction.CommitAsync(ct);
                committed.TrySetResult();
            }, o => o.InvisibleDuration = TimeSpan.FromSeconds(2));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            old.Send(new OutgoingMessage(Topic, "pay 10"u8.ToArray()) { IdempotencyKey = "payment-1" });
            await committed.Task.WaitAsync(Deadline);
            await WaitUntilDrainedAsync(old, group, Topic);

            // The mirror copy of the same payment arrives through the other cluster: skipped.
            @new.Send(new OutgoingMessage(Topic, "pay 10"u8.ToArray()) { IdempotencyKey = "payment-1" });
            await WaitUntilDrainedAsync(@new, group, Topic);
        }
        finally
        {
            await host.StopAsync();
        }

        Assert.Equal(2, Volatile.Read(ref attempts));
        await using var count = dataSource.CreateCommand($"SELECT count(*) FROM {table}");
        Assert.Equal(2L, await count.ExecuteScalarAsync()); // the payment and its fee, once
    }

    private static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, string id, int amount)
    {
        await using var insert = new NpgsqlCommand($"INSERT INTO {table} (id, amount) VALUES ($1, $2)", connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = amount });
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task WaitUntilDrainedAsync(InMemoryBroker broker, string group, string topic)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!broker.GetBacklog(group, topic).IsDrained)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{topic} was not drained within {Deadline}");
            await Task.Delay(25);
        }
    }
}
