namespace DualCluster.Transport;

/// <summary>Transports supplied in code for a role, bypassing the configured protocol (tests, custom adapters).</summary>
internal sealed class TransportOverrides
{
    private readonly Dictionary<ClusterRole, Func<IServiceProvider, IClusterTransport>> _factories = [];

    public void Set(ClusterRole role, Func<IServiceProvider, IClusterTransport> factory) => _factories[role] = factory;

    public bool Has(ClusterRole role) => _factories.ContainsKey(role);

    public bool TryGet(ClusterRole role, out Func<IServiceProvider, IClusterTransport> factory) =>
        _factories.TryGetValue(role, out factory!);
}
