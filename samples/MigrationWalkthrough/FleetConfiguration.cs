using Microsoft.Extensions.Configuration;

namespace MigrationWalkthrough;

/// <summary>
/// The fleet's shared settings (what one appsettings file on a config server would hold). Every node
/// layers it under its own NodeId; <see cref="Apply"/> changes it and fires each node's reload, as a
/// file save with <c>reloadOnChange</c> would.
/// </summary>
internal sealed class FleetConfiguration
{
    private readonly List<Provider> _providers = [];
    private Dictionary<string, string?> _shared = [];

    public IConfigurationRoot ForNode(string nodeId)
    {
        var provider = new Provider(this);
        lock (_providers)
        {
            _providers.Add(provider);
        }

        return new ConfigurationBuilder()
            .Add(new Source(provider))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DualCluster:NodeId"] = nodeId })
            .Build();
    }

    public Dictionary<string, string?> Current
    {
        get
        {
            lock (_providers)
            {
                return new Dictionary<string, string?>(_shared);
            }
        }
    }

    public void Apply(Dictionary<string, string?> shared)
    {
        Provider[] providers;
        lock (_providers)
        {
            _shared = new Dictionary<string, string?>(shared);
            providers = [.. _providers];
        }

        foreach (var provider in providers)
        {
            provider.Reload();
        }
    }

    private sealed class Source(Provider provider) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => provider;
    }

    private sealed class Provider(FleetConfiguration fleet) : ConfigurationProvider
    {
        public override void Load() => Data = new Dictionary<string, string?>(fleet.Current, StringComparer.OrdinalIgnoreCase);

        public void Reload()
        {
            Load();
            OnReload();
        }
    }
}
