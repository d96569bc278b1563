using DualCluster.Fleet;
using DualCluster.Idempotency;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DualCluster.PostgreSql.Tests;

public sealed class PostgreSqlDependencyInjectionTests(PostgreSqlServerFixture fixture) : IClassFixture<PostgreSqlServerFixture>
{
    private static IHost BuildHost(Action<IServiceCollection> configure)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        configure(builder.Services);
        return builder.Build();
    }

    [Fact]
    public async Task Connection_string_registration_resolves_a_working_store_also_available_for_transactions()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UsePostgreSqlIdempotencyStore(fixture.Server.ConnectionString));

        var store = host.Services.GetRequiredService<IIdempotencyStore>();

        // Concurrent single-key calls are batched in front of PostgreSQL by default.
        Assert.Same(host.Services.GetRequiredService<PostgreSqlIdempotencyStore>(), Assert.IsType<CoalescingIdempotencyStore>(store).Inner);
        Assert.Equal(ClaimStatus.Acquired, (await store.TryClaimAsync(Guid.NewGuid().ToString(), TimeSpan.FromMinutes(1))).Status);
    }

    [Fact]
    public async Task Registered_data_source_is_shared_when_no_connection_string_is_given()
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        using var host = BuildHost(s =>
        {
            s.AddSingleton(dataSource);
            s.AddDualCluster(_ => { }).UsePostgreSqlIdempotencyStore(o => o.TableName = "shared_idempotency");
        });

        var store = host.Services.GetRequiredService<PostgreSqlIdempotencyStore>();
        await store.TryClaimAsync("k", TimeSpan.FromMinutes(1));

        Assert.Same(dataSource, store.DataSource);
    }

    [Fact]
    public async Task Local_cache_is_put_in_front_only_when_enabled()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UsePostgreSqlIdempotencyStore(o =>
        {
            o.ConnectionString = fixture.Server.ConnectionString;
            o.LocalCache.Enabled = true;
        }));

        var store = host.Services.GetRequiredService<IIdempotencyStore>();
        var key = Guid.NewGuid().ToString();
        var claim = await store.TryClaimAsync(key, TimeSpan.FromMinutes(1));
        await store.CompleteAsync(key, claim.FencingToken, TimeSpan.FromMinutes(1));

        var cache = Assert.IsType<LocalCacheIdempotencyStore>(store);
        Assert.IsType<PostgreSqlIdempotencyStore>(Assert.IsType<CoalescingIdempotencyStore>(cache.Inner).Inner);
        Assert.Equal(ClaimStatus.Completed, (await store.TryClaimAsync(key, TimeSpan.FromMinutes(1))).Status);
    }

    [Fact]
    public async Task Invalid_options_fail_the_host_start_with_a_message_naming_the_fix()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UsePostgreSqlIdempotencyStore(o => o.CleanupBatchSize = 0));

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        // Other options (the clusters, left unset here) may fail too; the store's own failures must be among them.
        var failures = failure is AggregateException all ? all.InnerExceptions : [failure];
        var mine = Assert.Single(failures.OfType<OptionsValidationException>(), f => f.OptionsType == typeof(PostgreSqlIdempotencyStoreOptions));
        Assert.Contains("ConnectionString", mine.Message, StringComparison.Ordinal);
        Assert.Contains("CleanupBatchSize", mine.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fleet_registry_shares_the_idempotency_stores_data_source()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { })
            .UsePostgreSqlIdempotencyStore(fixture.Server.ConnectionString)
            .UsePostgreSqlFleetRegistry(o => o.TableName = "di_fleet"));

        var registry = Assert.IsType<PostgreSqlFleetRegistry>(host.Services.GetRequiredService<IFleetRegistry>());
        var node = Guid.NewGuid().ToString();
        await registry.PublishAsync(new FleetMember(node, 1, ClusterRole.Old, [], []), TimeSpan.FromMinutes(1));

        Assert.Same(host.Services.GetRequiredService<PostgreSqlIdempotencyStore>().DataSource, registry.DataSource);
        Assert.Same(registry, host.Services.GetRequiredService<PostgreSqlFleetRegistry>());
        Assert.Equal([node], (await registry.GetLiveMembersAsync()).Select(m => m.NodeId));
    }

    [Fact]
    public async Task Fleet_registry_uses_a_registered_data_source_and_replaces_a_registry_registered_before()
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString);
        using var host = BuildHost(s =>
        {
            s.AddSingleton(dataSource);
            s.AddSingleton<IFleetRegistry>(new InMemoryFleetRegistry());
            s.AddDualCluster(_ => { }).UsePostgreSqlFleetRegistry();
        });

        var registry = Assert.IsType<PostgreSqlFleetRegistry>(Assert.Single(host.Services.GetServices<IFleetRegistry>()));
        await registry.PublishAsync(new FleetMember("n1", 1, null, [], []), TimeSpan.FromMinutes(1));

        Assert.Same(dataSource, registry.DataSource);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM dualcluster_fleet WHERE node_id = 'n1'");
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Fleet_registry_without_a_data_source_fails_the_host_start_with_a_message_naming_the_fix()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UsePostgreSqlFleetRegistry(o => o.Schema = "no such schema"));

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        var failures = failure is AggregateException all ? all.InnerExceptions : [failure];
        var mine = Assert.Single(failures.OfType<OptionsValidationException>(), f => f.OptionsType == typeof(PostgreSqlFleetRegistryOptions));
        Assert.Contains("UsePostgreSqlIdempotencyStore", mine.Message, StringComparison.Ordinal);
        Assert.Contains("Schema", mine.Message, StringComparison.Ordinal);
    }
}
