using DualCluster.Fleet;
using DualCluster.Idempotency;
using DualCluster.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DualCluster;

/// <summary>Registers the PostgreSQL idempotency store and fleet registry.</summary>
public static class PostgreSqlDualClusterBuilderExtensions
{
    /// <summary>
    /// Uses PostgreSQL as the fleet-wide idempotency store. Set
    /// <see cref="PostgreSqlIdempotencyStoreOptions.ConnectionString"/>, or leave it empty and register an
    /// <see cref="NpgsqlDataSource"/> the store then shares. The store is also registered as
    /// <see cref="PostgreSqlIdempotencyStore"/>, for handlers that complete inside their own transaction.
    /// Options are validated when the host starts.
    /// </summary>
    /// <example><code>
    /// services.AddDualCluster(configuration.GetSection("DualCluster"))
    ///     .UsePostgreSqlIdempotencyStore(o => o.ConnectionString = configuration.GetConnectionString("orders"));
    /// </code></example>
    public static DualClusterBuilder UsePostgreSqlIdempotencyStore(this DualClusterBuilder builder, Action<PostgreSqlIdempotencyStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<PostgreSqlIdempotencyStoreOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlIdempotencyStoreOptions>, PostgreSqlIdempotencyStoreOptionsValidator>());
        builder.Services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PostgreSqlIdempotencyStoreOptions>>().Value;
            var time = sp.GetService<TimeProvider>();
            var logger = sp.GetService<ILogger<PostgreSqlIdempotencyStore>>();
            return string.IsNullOrWhiteSpace(options.ConnectionString)
                ? new PostgreSqlIdempotencyStore(sp.GetRequiredService<NpgsqlDataSource>(), options, time, logger)
                : PostgreSqlIdempotencyStore.Create(options, time, logger);
        });
        return builder.UseIdempotencyStore(sp =>
        {
            var store = sp.GetRequiredService<PostgreSqlIdempotencyStore>();
            var options = sp.GetRequiredService<IOptions<PostgreSqlIdempotencyStoreOptions>>().Value;
            IIdempotencyStore composed = options.CoalesceConcurrentCalls ? new CoalescingIdempotencyStore(store) : store;
            return options.LocalCache is { Enabled: true } cache ? new LocalCacheIdempotencyStore(composed, cache, sp.GetService<TimeProvider>()) : composed;
        });
    }

    /// <summary>Uses PostgreSQL at <paramref name="connectionString"/> (an Npgsql connection string) as the idempotency store.</summary>
    public static DualClusterBuilder UsePostgreSqlIdempotencyStore(this DualClusterBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgreSqlIdempotencyStore(o => o.ConnectionString = connectionString);
    }

    /// <summary>
    /// Uses PostgreSQL as the fleet registry (<see cref="IFleetRegistry"/>, replacing any registered before), on the
    /// same data source as the PostgreSQL idempotency store (<see cref="UsePostgreSqlIdempotencyStore(DualClusterBuilder, Action{PostgreSqlIdempotencyStoreOptions})"/>),
    /// or on a registered <see cref="NpgsqlDataSource"/> when there is no such store. The registry is also registered as
    /// <see cref="PostgreSqlFleetRegistry"/>. Options are validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the schema, table or schema creation; defaults when null.</param>
    /// <example><code>
    /// services.AddDualCluster(configuration.GetSection("DualCluster"))
    ///     .UsePostgreSqlIdempotencyStore(configuration.GetConnectionString("orders")!)
    ///     .UsePostgreSqlFleetRegistry();
    /// </code></example>
    public static DualClusterBuilder UsePostgreSqlFleetRegistry(this DualClusterBuilder builder, Action<PostgreSqlFleetRegistryOptions>? configure = null) =>
        builder.UseStoreFleetRegistry(
            configure,
            static (services, options) => options.Validate(services.IsService(typeof(PostgreSqlIdempotencyStore)) || services.IsService(typeof(NpgsqlDataSource))),
            static (sp, options) => new PostgreSqlFleetRegistry(
                sp.GetService<PostgreSqlIdempotencyStore>()?.DataSource ?? sp.GetRequiredService<NpgsqlDataSource>(),
                options,
                sp.GetService<ILogger<PostgreSqlFleetRegistry>>()));
}
