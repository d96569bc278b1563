using DualCluster.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DualCluster.Fleet;

/// <summary>How the store packages register their fleet registry: options validated at start, one registry singleton.</summary>
internal static class FleetRegistryRegistration
{
    /// <summary>
    /// Registers <typeparamref name="TRegistry"/> (singleton, built by <paramref name="create"/> from the configured
    /// options) as the <see cref="IFleetRegistry"/>, replacing any registered before; <paramref name="problems"/>
    /// validates the options when the host starts (it may ask the container what is registered).
    /// </summary>
    public static DualClusterBuilder UseStoreFleetRegistry<TRegistry, TOptions>(
        this DualClusterBuilder builder,
        Action<TOptions>? configure,
        Func<IServiceProviderIsService, TOptions, IReadOnlyList<string>> problems,
        Func<IServiceProvider, TOptions, TRegistry> create)
        where TRegistry : class, IFleetRegistry
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<TOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, OptionsProblemsValidator<TOptions>>(
            sp => new(o => problems(sp.GetRequiredService<IServiceProviderIsService>(), o))));
        builder.Services.TryAddSingleton(sp => create(sp, sp.GetRequiredService<IOptions<TOptions>>().Value));
        builder.Services.RemoveAll<IFleetRegistry>();
        builder.Services.AddSingleton<IFleetRegistry>(sp => sp.GetRequiredService<TRegistry>());
        return builder;
    }
}
