using DualCluster.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DualCluster.Tests.Fakes;

/// <summary>Builds a DI container for one node wired to two <see cref="FakeTransport"/>s and an in-memory configuration that tests can change.</summary>
internal sealed class FakeCluster : IAsyncDisposable
{
    public FakeCluster(Dictionary<string, string?> settings, Action<DualClusterBuilder>? configure = null, TimeProvider? time = null)
    {
        Old = new FakeTransport(ClusterRole.Old, Journal);
        New = new FakeTransport(ClusterRole.New, Journal);
        Configuration = new ReloadableConfiguration(settings);
        var services = new ServiceCollection();
        services.AddLogging();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        var builder = services.AddDualCluster(Configuration.Root.GetSection("DualCluster"))
            .UseTransport(ClusterRole.Old, _ => Old)
            .UseTransport(ClusterRole.New, _ => New);
        configure?.Invoke(builder);
        Services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
    }

    public List<string> Journal { get; } = [];

    public FakeTransport Old { get; }

    public FakeTransport New { get; }

    public ReloadableConfiguration Configuration { get; }

    public ServiceProvider Services { get; }

    public FakeTransport this[ClusterRole role] => role == ClusterRole.Old ? Old : New;

    public static Dictionary<string, string?> Settings(string nodeId, int producerWeight, int consumerWeight, bool doubleRead = false, params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["DualCluster:NodeId"] = nodeId,
            ["DualCluster:Producer:NewWeight"] = producerWeight.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DualCluster:Consumer:NewWeight"] = consumerWeight.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DualCluster:Consumer:DoubleRead"] = doubleRead ? "true" : "false",
            // Tests apply reloads with an explicit Reload(); a debounce this long keeps the change-token path
            // (covered by its own tests) from applying the same change a second time on the thread pool.
            ["DualCluster:ReloadDebounce"] = "01:00:00",
            ["DualCluster:Resilience:RetryBaseDelay"] = "00:00:00",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

/// <summary>An in-memory configuration source whose data a test replaces and reloads, as a file save would.</summary>
internal sealed class ReloadableConfiguration
{
    private readonly MemorySource _source;

    public ReloadableConfiguration(Dictionary<string, string?> initial)
    {
        _source = new MemorySource(initial);
        Root = new ConfigurationBuilder().Add(_source).Build();
    }

    public IConfigurationRoot Root { get; }

    public void Set(params (string Key, string? Value)[] changes)
    {
        foreach (var (key, value) in changes)
        {
            _source.Provider.Data[key] = value;
        }

        _source.Provider.Raise();
    }

    private sealed class MemorySource(Dictionary<string, string?> initial) : IConfigurationSource
    {
        public MemoryProvider Provider { get; } = new(initial);

        public IConfigurationProvider Build(IConfigurationBuilder builder) => Provider;
    }

    internal sealed class MemoryProvider : ConfigurationProvider
    {
        public MemoryProvider(Dictionary<string, string?> initial)
        {
            foreach (var (k, v) in initial)
            {
                Data[k] = v;
            }
        }

        public new IDictionary<string, string?> Data => base.Data;

        public void Raise() => OnReload();
    }
}
