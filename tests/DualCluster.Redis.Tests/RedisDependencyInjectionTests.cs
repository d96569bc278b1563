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
}
