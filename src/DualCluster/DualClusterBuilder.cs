using DualCluster.Consuming;
using DualCluster.Idempotency;
using DualCluster.Producing;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

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

    /// <summary>Registers <see cref="IDualClusterProducer"/> (singleton).</summary>
    public DualClusterBuilder AddProducer()
    {
        Services.TryAddSingleton<SendPipelines>();
        Services.TryAddSingleton<IDualClusterProducer, DualClusterProducer>();
        return this;
    }

    /// <summary>
    /// Registers a consumer of <paramref name="topic"/> in <paramref name="group"/> as a hosted service, handled by
    /// <typeparamref name="THandler"/> (resolved from a new scope per message; registered scoped unless already registered).
    /// </summary>
    /// <param name="group">The consumer group (the same name on both clusters).</param>
    /// <param name="topic">The topic.</param>
    /// <param name="filterExpression">Tag filter: <c>*</c> or tags joined by <c>||</c>.</param>
    /// <param name="concurrency">Most handler calls at once, per cluster read.</param>
    /// <exception cref="ArgumentException">The group or topic name is invalid, or <paramref name="concurrency"/> is below 1.</exception>
    public DualClusterBuilder AddConsumer<THandler>(string group, string topic, string filterExpression = "*", int concurrency = 16)
        where THandler : class, IMessageHandler =>
        AddConsumer<THandler>(group, topic, o =>
        {
            o.FilterExpression = filterExpression;
            o.MaxConcurrency = concurrency;
        });

    /// <summary>Registers a consumer handled by <typeparamref name="THandler"/>, with full settings.</summary>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public DualClusterBuilder AddConsumer<THandler>(string group, string topic, Action<ConsumerOptions> configure)
        where THandler : class, IMessageHandler
    {
        Services.TryAddScoped<THandler>();
        return AddConsumerCore(group, topic, configure, static (services, context, ct) => services.GetRequiredService<THandler>().HandleAsync(context, ct));
    }

    /// <summary>Registers a consumer handled by a delegate.</summary>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public DualClusterBuilder AddConsumer(string group, string topic, Func<MessageContext, CancellationToken, Task> handler, Action<ConsumerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return AddConsumerCore(group, topic, configure, (_, context, ct) => handler(context, ct));
    }

    private DualClusterBuilder AddConsumerCore(string group, string topic, Action<ConsumerOptions>? configure, Func<IServiceProvider, MessageContext, CancellationToken, Task> handle)
    {
        var options = new ConsumerOptions();
        configure?.Invoke(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrency, 1, nameof(ConsumerOptions.MaxConcurrency));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDeliveryAttempts, 1, nameof(ConsumerOptions.MaxDeliveryAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.InvisibleDuration, TimeSpan.Zero, nameof(ConsumerOptions.InvisibleDuration));
        var subscription = new ConsumerSubscription(group, topic)
        {
            FilterExpression = string.IsNullOrWhiteSpace(options.FilterExpression) ? "*" : options.FilterExpression,
            MaxConcurrency = options.MaxConcurrency,
            MaxDeliveryAttempts = options.MaxDeliveryAttempts,
            InvisibleDuration = options.InvisibleDuration,
        };
        if (Services.Any(d => d.ImplementationInstance is ConsumerSlot slot && slot.Registration.Subscription.Group == group && slot.Registration.Subscription.Topic == topic))
        {
            throw new ArgumentException($"A consumer of topic '{topic}' in group '{group}' is already registered.", nameof(group));
        }

        var registration = new ConsumerSlot(new ConsumerRegistration(subscription, handle, options.KeySelector, options.OnDeadLetter));
        Services.AddSingleton(registration);
        // One hosted service starts and stops every registration concurrently (see ConsumerHost).
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ConsumerHost>());
        return this;
    }

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

    /// <summary>
    /// Registers the fleet registry the guard decides on (live facts instead of the weights alone). Share one store across
    /// the fleet: <see cref="Fleet.InMemoryFleetRegistry"/> for nodes in one process, the Redis or PostgreSQL one otherwise.
    /// </summary>
    public DualClusterBuilder UseFleetRegistry(Func<IServiceProvider, Fleet.IFleetRegistry> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<Fleet.IFleetRegistry>();
        Services.AddSingleton(factory);
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
