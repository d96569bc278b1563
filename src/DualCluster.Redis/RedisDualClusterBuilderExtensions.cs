using DualCluster.Fleet;
using DualCluster.Idempotency;
using DualCluster.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DualCluster;

/// <summary>Registers the Redis idempotency store and fleet registry.</summary>
public static class RedisDualClusterBuilderExtensions
{
    /// <summary>
    /// Uses Redis as the fleet-wide idempotency store. Set <see cref="RedisIdempotencyStoreOptions.Configuration"/>, or
    /// leave it empty and register an <see cref="IConnectionMultiplexer"/> the store then shares. Options are validated
    /// when the host starts.
    /// </summary>
    /// <example><code>
    /// services.AddDualCluster(configuration.GetSection("DualCluster"))
    ///     .UseRedisIdempotencyStore(o => o.Configuration = "redis:6379");
    /// </code></example>
    public static DualClusterBuilder UseRedisIdempotencyStore(this DualClusterBuilder builder, Action<RedisIdempotencyStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<RedisIdempotencyStoreOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisIdempotencyStoreOptions>, RedisIdempotencyStoreOptionsValidator>());
        builder.Services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisIdempotencyStoreOptions>>().Value;
            return string.IsNullOrWhiteSpace(options.Configuration)
                ? new RedisIdempotencyStore(sp.GetRequiredService<IConnectionMultiplexer>(), options)
                : RedisIdempotencyStore.Connect(options);
        });
        return builder.UseIdempotencyStore(sp =>
        {
            var store = sp.GetRequiredService<RedisIdempotencyStore>();
            var options = sp.GetRequiredService<IOptions<RedisIdempotencyStoreOptions>>().Value;
            IIdempotencyStore composed = options.CoalesceConcurrentCalls ? new CoalescingIdempotencyStore(store) : store;
            return options.LocalCache is { Enabled: true } cache ? new LocalCacheIdempotencyStore(composed, cache, sp.GetService<TimeProvider>()) : composed;
        });
    }

    /// <summary>Uses Redis at <paramref name="configuration"/> (a StackExchange.Redis configuration string) as the idempotency store.</summary>
    public static DualClusterBuilder UseRedisIdempotencyStore(this DualClusterBuilder builder, string configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        return builder.UseRedisIdempotencyStore(o => o.Configuration = configuration);
    }

    /// <summary>
    /// Uses Redis as the fleet registry (<see cref="IFleetRegistry"/>, replacing any registered before), on the same
    /// connection and database as the Redis idempotency store (<see cref="UseRedisIdempotencyStore(DualClusterBuilder, Action{RedisIdempotencyStoreOptions})"/>),
    /// or on a registered <see cref="IConnectionMultiplexer"/> when there is no such store. The registry is also
    /// registered as <see cref="RedisFleetRegistry"/>. Options are validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the key prefix or database; defaults when null.</param>
    /// <example><code>
    /// services.AddDualCluster(configuration.GetSection("DualCluster"))
    ///     .UseRedisIdempotencyStore("redis:6379")
    ///     .UseRedisFleetRegistry();
    /// </code></example>
    public static DualClusterBuilder UseRedisFleetRegistry(this DualClusterBuilder builder, Action<RedisFleetRegistryOptions>? configure = null) =>
        builder.UseStoreFleetRegistry(
            configure,
            static (services, options) => options.Validate(services.IsService(typeof(RedisIdempotencyStore)) || services.IsService(typeof(IConnectionMultiplexer))),
            static (sp, configured) =>
            {
                var store = sp.GetService<RedisIdempotencyStore>();
                var multiplexer = store?.Multiplexer ?? sp.GetRequiredService<IConnectionMultiplexer>();
                var database = configured.Database == -1 && store is not null
                    ? sp.GetRequiredService<IOptions<RedisIdempotencyStoreOptions>>().Value.Database
                    : configured.Database;
                var effective = new RedisFleetRegistryOptions { KeyPrefix = configured.KeyPrefix, Database = database };
                return new RedisFleetRegistry(multiplexer, effective, sp.GetService<ILogger<RedisFleetRegistry>>());
            });
}
