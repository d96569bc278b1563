using DualCluster.Idempotency;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DualCluster;

/// <summary>
/// Configures DualCluster on a service collection: returned by
/// <see cref="DualClusterServiceCollectionExtensions.AddDualCluster(IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration)"/>.
/// </summary>
public sealed class DualClusterBuilder
{
    internal DualClusterBuilder(IServiceCollection services, TransportOverrides transportOverrides)
    {
        Services = services;
        TransportOverrides = transportOverrides;
    }

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    internal TransportOverrides TransportOverrides { get; }

    /// <summary>
    /// Registers a transport factory; clusters whose <c>Protocol</c> equals its <see cref="IClusterTransportFactory.Protocol"/> use it.
    /// Transport packages wrap this in their own <c>Use…</c> methods.
    /// </summary>
    public DualClusterBuilder AddTransportFactory(IClusterTransportFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.AddSingleton(factory);
        return this;
    }

    /// <summary>Uses the transport <paramref name="factory"/> creates for <paramref name="role"/>, whatever the configured protocol.</summary>
    public DualClusterBuilder UseTransport(ClusterRole role, Func<IServiceProvider, IClusterTransport> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        TransportOverrides.Set(role, factory);
        return this;
    }

    /// <summary>Replaces the default in-memory idempotency store (one per host) with a shared one.</summary>
    public DualClusterBuilder UseIdempotencyStore(Func<IServiceProvider, IIdempotencyStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<IIdempotencyStore>();
        Services.AddSingleton(factory);
        return this;
    }

    /// <summary>Replaces the default in-memory idempotency store with <typeparamref name="TStore"/> resolved from the container.</summary>
    public DualClusterBuilder UseIdempotencyStore<TStore>()
        where TStore : class, IIdempotencyStore
    {
        Services.RemoveAll<IIdempotencyStore>();
        Services.TryAddSingleton<TStore>();
        Services.AddSingleton<IIdempotencyStore>(sp => sp.GetRequiredService<TStore>());
        return this;
    }
}
