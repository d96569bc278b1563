using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>
/// Serves clusters configured with <c>"Protocol": "InMemory"</c>: the broker is looked up in an
/// <see cref="InMemoryBrokerRegistry"/> by the cluster's <c>Endpoint</c>, else by its role name, and created
/// (with the host's <see cref="TimeProvider"/>) when absent.
/// </summary>
public sealed class InMemoryClusterTransportFactory : IClusterTransportFactory
{
    /// <summary>The protocol name: <c>InMemory</c>.</summary>
    public const string ProtocolName = "InMemory";

    private readonly InMemoryBrokerRegistry _registry;
    private readonly InMemoryTransportOptions? _options;

    /// <summary>Creates the factory.</summary>
    public InMemoryClusterTransportFactory(InMemoryBrokerRegistry registry, InMemoryTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
        _options = options;
    }

    /// <inheritdoc/>
    public string Protocol => ProtocolName;

    /// <inheritdoc/>
    public IClusterTransport Create(ClusterRole role, ClusterOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        var name = string.IsNullOrWhiteSpace(options.Endpoint) ? role.ToString() : options.Endpoint.Trim();
        var time = services.GetService(typeof(TimeProvider)) as TimeProvider;
        var broker = _registry.GetOrAdd(name, () => new InMemoryBrokerOptions { Name = name, TimeProvider = time });
        var transportOptions = _options ?? new InMemoryTransportOptions { MaxBodySize = options.MaxBodySize };
        return new InMemoryClusterTransport(broker, role, transportOptions);
    }

    /// <inheritdoc/>
    public IEnumerable<string> Validate(ClusterRole role, ClusterOptions options) => [];
}
