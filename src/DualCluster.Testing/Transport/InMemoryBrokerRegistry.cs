using System.Collections.Concurrent;

namespace DualCluster.Testing;

/// <summary>
/// Named in-memory brokers for configuration-driven set-ups: a cluster configured with
/// <c>"Protocol": "InMemory"</c> uses the broker named by its <c>Endpoint</c> (or by its role, <c>Old</c> / <c>New</c>).
/// Thread-safe.
/// </summary>
public sealed class InMemoryBrokerRegistry
{
    private readonly ConcurrentDictionary<string, InMemoryBroker> _brokers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers <paramref name="broker"/> under <paramref name="name"/>, replacing any broker of that name.</summary>
    public InMemoryBrokerRegistry Add(string name, InMemoryBroker broker)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(broker);
        _brokers[name] = broker;
        return this;
    }

    /// <summary>The broker named <paramref name="name"/>, created with <paramref name="createOptions"/> (or defaults named <paramref name="name"/>) when absent.</summary>
    public InMemoryBroker GetOrAdd(string name, Func<InMemoryBrokerOptions>? createOptions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return _brokers.GetOrAdd(name, n => new InMemoryBroker(createOptions?.Invoke() ?? new InMemoryBrokerOptions { Name = n }));
    }

    /// <summary>Finds the broker named <paramref name="name"/>.</summary>
    public bool TryGet(string name, out InMemoryBroker broker) => _brokers.TryGetValue(name, out broker!);
}
