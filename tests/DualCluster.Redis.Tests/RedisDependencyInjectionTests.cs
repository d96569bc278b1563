using DualCluster.Fleet;
using DualCluster.Idempotency;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DualCluster.Redis.Tests;

public sealed class RedisDependencyInjectionTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>
{
    private static IHost BuildHost(Action<IServiceCollection> configure)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        configure(builder.Services);
        return builder.Build();
    }

    [Fact]
    public async Task Connection_string_registration_resolves_a_working_redis_store()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UseRedisIdempotencyStore(fixture.Server.ConnectionString));

        var store = host.Services.GetRequiredService<IIdempotencyStore>();

        // Concurrent single-key calls are batched in front of Redis by default.
        Assert.IsType<RedisIdempotencyStore>(Assert.IsType<CoalescingIdempotencyStore>(store).Inner);
        Assert.Equal(ClaimStatus.Acquired, (await store.TryClaimAsync(Guid.NewGuid().ToString(), TimeSpan.FromMinutes(1))).Status);
    }

    [Fact]
    public void Batching_of_concurrent_calls_can_be_switched_off()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UseRedisIdempotencyStore(o =>
        {
            o.Configuration = fixture.Server.ConnectionString;
            o.CoalesceConcurrentCalls = false;
        }));

        Assert.IsType<RedisIdempotencyStore>(host.Services.GetRequiredService<IIdempotencyStore>());
    }

    [Fact]
    public async Task Registered_multiplexer_is_shared_when_no_configuration_is_given()
    {
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(fixture.Server.ConnectionString);
        using var host = BuildHost(s =>
        {
            s.AddSingleton<IConnectionMultiplexer>(multiplexer);
            s.AddDualCluster(_ => { }).UseRedisIdempotencyStore(o => o.KeyPrefix = "shared:");
        });

        var store = host.Services.GetRequiredService<RedisIdempotencyStore>();
        await store.TryClaimAsync("k", TimeSpan.FromMinutes(1));

        Assert.Same(multiplexer, store.Multiplexer);
        Assert.True(await multiplexer.GetDatabase().KeyExistsAsync("shared:k"));
    }

    [Fact]
    public async Task Local_cache_is_put_in_front_only_when_enabled()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UseRedisIdempotencyStore(o =>
        {
            o.Configuration = fixture.Server.ConnectionString;
            o.LocalCache.Enabled = true;
        }));

        var store = host.Services.GetRequiredService<IIdempotencyStore>();
        var key = Guid.NewGuid().ToString();
        var claim = await store.TryClaimAsync(key, TimeSpan.FromMinutes(1));
        await store.CompleteAsync(key, claim.FencingToken, TimeSpan.FromMinutes(1));

        var cache = Assert.IsType<LocalCacheIdempotencyStore>(store);
        Assert.IsType<RedisIdempotencyStore>(Assert.IsType<CoalescingIdempotencyStore>(cache.Inner).Inner);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task Missing_connection_fails_the_host_start_with_a_message_naming_the_fix()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UseRedisIdempotencyStore(_ => { }));

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        // Other options (the clusters, left unset here) may fail too; the store's own failure must be among them.
        var failures = failure is AggregateException all ? all.InnerExceptions : [failure];
        Assert.Contains(failures.OfType<OptionsValidationException>(), f => f.OptionsType == typeof(RedisIdempotencyStoreOptions) && f.Message.Contains("Configuration", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fleet_registry_shares_the_idempotency_stores_connection_and_database()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { })
            .UseRedisIdempotencyStore(o =>
            {
                o.Configuration = fixture.Server.ConnectionString;
                o.Database = 3;
            })
            .UseRedisFleetRegistry());

        var registry = Assert.IsType<RedisFleetRegistry>(host.Services.GetRequiredService<IFleetRegistry>());
        var node = Guid.NewGuid().ToString();
        await registry.PublishAsync(new FleetMember(node, 1, ClusterRole.Old, [], []), TimeSpan.FromMinutes(1));

        var store = host.Services.GetRequiredService<RedisIdempotencyStore>();
        Assert.Same(store.Multiplexer, registry.Multiplexer);
        Assert.Same(registry, host.Services.GetRequiredService<RedisFleetRegistry>());
        Assert.True(await store.Multiplexer.GetDatabase(3).KeyExistsAsync($"{{dualcluster:fleet:}}node:{node}"));
        Assert.Equal([node], (await registry.GetLiveMembersAsync()).Select(m => m.NodeId));
    }

    [Fact]
    public async Task Fleet_registry_uses_a_registered_multiplexer_and_replaces_a_registry_registered_before()
    {
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(fixture.Server.ConnectionString);
        using var host = BuildHost(s =>
        {
            s.AddSingleton<IConnectionMultiplexer>(multiplexer);
            s.AddSingleton<IFleetRegistry>(new InMemoryFleetRegistry());
            s.AddDualCluster(_ => { }).UseRedisFleetRegistry(o => o.KeyPrefix = "app-b:");
        });

        var registry = Assert.IsType<RedisFleetRegistry>(Assert.Single(host.Services.GetServices<IFleetRegistry>()));
        await registry.PublishAsync(new FleetMember("n1", 1, null, [], []), TimeSpan.FromMinutes(1));

        Assert.Same(multiplexer, registry.Multiplexer);
        Assert.True(await multiplexer.GetDatabase().KeyExistsAsync("{app-b:}node:n1"));
    }

    [Fact]
    public async Task Fleet_registry_without_a_connection_fails_the_host_start_with_a_message_naming_the_fix()
    {
        using var host = BuildHost(s => s.AddDualCluster(_ => { }).UseRedisFleetRegistry(o => o.KeyPrefix = string.Empty));

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        var failures = failure is AggregateException all ? all.InnerExceptions : [failure];
        var mine = Assert.Single(failures.OfType<OptionsValidationException>(), f => f.OptionsType == typeof(RedisFleetRegistryOptions));
        Assert.Contains("UseRedisIdempotencyStore", mine.Message, StringComparison.Ordinal);
        Assert.Contains("KeyPrefix", mine.Message, StringComparison.Ordinal);
    }
}
