using System.Diagnostics.Metrics;
using DualCluster.Configuration;
using DualCluster.Consuming;
using DualCluster.Fleet;
using DualCluster.Idempotency;
using DualCluster.Routing;
using DualCluster.Status;
using DualCluster.Telemetry;
using DualCluster.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DualCluster;

/// <summary>Registers DualCluster in a service collection.</summary>
public static class DualClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds DualCluster bound to <paramref name="configuration"/> (usually <c>configuration.GetSection("DualCluster")</c>).
    /// Changes to that configuration (e.g. <c>reloadOnChange</c> JSON files) re-route the node at run time.
    /// Options are validated when the host starts; an invalid configuration stops the start with an
    /// <see cref="OptionsValidationException"/> naming the key and the fix.
    /// </summary>
    public static DualClusterBuilder AddDualCluster(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = AddCore(services);
        // Bound through the check, so a value the binder cannot convert is an OptionsValidationException naming the key
        // and the fix (at start as on reload), and a missing section or an unknown key is logged as a warning.
        services.AddOptions<DualClusterOptions>().Configure(o => DualClusterConfigurationCheck.Bind(configuration, o, Options.DefaultName));
        services.AddSingleton<IOptionsChangeTokenSource<DualClusterOptions>>(new ConfigurationChangeTokenSource<DualClusterOptions>(Options.DefaultName, configuration));
        services.AddOptions<DualClusterOptions>(DualClusterOptionsValidator.StartupCheckName).Configure(o => DualClusterConfigurationCheck.Bind(configuration, o, DualClusterOptionsValidator.StartupCheckName));
        services.AddSingleton(new DualClusterConfigurationCheck(configuration));
        return builder;
    }

    /// <summary>Adds DualCluster configured in code (no reload source unless the caller adds one).</summary>
    public static DualClusterBuilder AddDualCluster(this IServiceCollection services, Action<DualClusterOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = AddCore(services);
        services.AddOptions<DualClusterOptions>().Configure(configure);
        services.AddOptions<DualClusterOptions>(DualClusterOptionsValidator.StartupCheckName).Configure(configure);
        return builder;
    }

    private static Microsoft.Extensions.Logging.ILogger CreateLogger(IServiceProvider services, string category) =>
        services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger(category) ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    private static DualClusterBuilder AddCore(IServiceCollection services)
    {
        var existing = services.FirstOrDefault(d => d.ServiceType == typeof(TransportOverrides))?.ImplementationInstance as TransportOverrides;
        if (existing is not null)
        {
            return new DualClusterBuilder(services, existing);
        }

        var overrides = new TransportOverrides();
        services.AddSingleton(overrides);
        services.AddOptions<DualClusterOptions>(DualClusterOptionsValidator.StartupCheckName).ValidateOnStart();
        services.TryAddSingleton<DualClusterOptionsValidator>();
        services.AddSingleton<IValidateOptions<DualClusterOptions>>(sp => sp.GetRequiredService<DualClusterOptionsValidator>());
        services.TryAddSingleton(sp => new DualClusterMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<RoutingState>();
        services.TryAddSingleton(sp => new IdempotencyGate(
            sp.GetRequiredService<IIdempotencyStore>(),
            sp.GetRequiredService<DualClusterMetrics>(),
            sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger("DualCluster.Idempotency") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IDualClusterStatus>(sp => new DualClusterStatus(sp.GetRequiredService<RoutingState>(), sp.GetServices<ConsumerSlot>(), sp.GetRequiredService<IIdempotencyStore>(), sp.GetRequiredService<IDualClusterFleet>()));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IIdempotencyStore>(sp => new InMemoryIdempotencyStore(sp.GetRequiredService<TimeProvider>()) { IsNodeDefault = true });
        services.TryAddSingleton<ClusterTransports>();
        services.TryAddSingleton(sp => new FleetActivity(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new FleetMonitor(
            sp.GetRequiredService<RoutingState>(),
            sp.GetRequiredService<ClusterTransports>(),
            sp.GetRequiredService<FleetActivity>(),
            sp.GetServices<ConsumerSlot>(),
            sp.GetRequiredService<TimeProvider>(),
            CreateLogger(sp, "DualCluster.Fleet"),
            sp.GetService<IFleetRegistry>(),
            () => sp.GetService<IServiceProviderIsService>()?.IsService(typeof(IDualClusterProducer)) ?? true));
        services.TryAddSingleton(sp => new TopicRouter(sp.GetRequiredService<FleetMonitor>(), sp.GetRequiredService<DualClusterMetrics>(), CreateLogger(sp, "DualCluster.Fleet")));
        services.TryAddSingleton<IDualClusterFleet, DualClusterFleet>();
        // Registered before any consumer (AddConsumer comes later): the first facts are read before consumers start, and
        // the node's record is removed only after they stopped.
        services.AddSingleton<IHostedService, FleetMonitorHost>();
        return new DualClusterBuilder(services, overrides);
    }
}
