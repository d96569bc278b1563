using Microsoft.Extensions.Configuration;

namespace DualCluster.Testing;

/// <summary>
/// The fleet's shared settings (what one appsettings file on a config server would hold). Every node layers it
/// under its own NodeId; <see cref="Apply"/> replaces it and fires each attached node's reload, as saving a file
/// watched with <c>reloadOnChange</c> would. A detached node (a crashed process) hears nothing more.
/// </summary>
internal sealed class RehearsalFleetConfiguration
{
    private readonly List<Provider> _providers = [];
    private Dictionary<string, string?> _shared = [];

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

    /// <summary>The configuration of one node, and the handle that detaches it from later changes.</summary>
    public (IConfiguration Configuration, IDisposable Attachment) ForNode(string nodeId)
    {
        var provider = new Provider(this);
        lock (_providers)
        {
            _providers.Add(provider);
        }

        var root = new ConfigurationBuilder()
            .Add(new Source(provider))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DualCluster:NodeId"] = nodeId })
            .Build();
        return (root, new Attachment(this, provider));
    }

    public void Apply(IReadOnlyDictionary<string, string?> shared)
    {
        Provider[] providers;
        lock (_providers)
        {
            _shared = new Dictionary<string, string?>(shared);
            providers = [.. _providers];
        }

        foreach (var provider in providers)
        {
            try
            {
                provider.Reload();
            }
            catch (AggregateException)
            {
                // A change callback threw (an options monitor binding an unparseable value). A file watcher raises
                // reloads on a background task, where such an exception goes unobserved: do the same.
            }
        }
    }

    private void Detach(Provider provider)
    {
        lock (_providers)
        {
            _providers.Remove(provider);
        }
    }

    private sealed class Attachment(RehearsalFleetConfiguration fleet, Provider provider) : IDisposable
    {
        public void Dispose() => fleet.Detach(provider);
    }

    private sealed class Source(Provider provider) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => provider;
    }

    private sealed class Provider(RehearsalFleetConfiguration fleet) : ConfigurationProvider
    {
        public override void Load() => Data = new Dictionary<string, string?>(fleet.Current, StringComparer.OrdinalIgnoreCase);

        public void Reload()
        {
            Load();
            OnReload();
        }
    }
}
