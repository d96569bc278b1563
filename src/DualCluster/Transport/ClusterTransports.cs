using DualCluster.Routing;

namespace DualCluster.Transport;

/// <summary>
/// Holds the host's one transport per cluster role, created on first use from the configured protocol
/// (or a code-supplied override). Connection settings are read once: changing them needs a restart.
/// </summary>
internal sealed class ClusterTransports(
    IServiceProvider services,
    IEnumerable<IClusterTransportFactory> factories,
    TransportOverrides overrides,
    RoutingState routing) : IAsyncDisposable, IDisposable
{
    private readonly IClusterTransportFactory[] _factories = [.. factories];
    private readonly object _gate = new();
    private readonly IClusterTransport?[] _transports = new IClusterTransport?[2];
    private bool _disposed;

    /// <summary>Whether <paramref name="role"/> has a transport: supplied in code, or a configured protocol.</summary>
    public bool IsConfigured(ClusterRole role, DualClusterOptions options) =>
        overrides.Has(role) || !string.IsNullOrWhiteSpace(options.Clusters[role].Protocol);

    public IClusterTransport Get(ClusterRole role)
    {
        var existing = Volatile.Read(ref _transports[(int)role]);
        if (existing is not null)
        {
            return existing;
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _transports[(int)role] ??= Create(role);
        }
    }

    private IClusterTransport Create(ClusterRole role)
    {
        if (overrides.TryGet(role, out var custom))
        {
            return custom(services);
        }

        var cluster = routing.Current.Options.Clusters[role];
        var protocol = cluster.Protocol?.Trim();
        var factory = Array.Find(_factories, f => string.Equals(f.Protocol, protocol, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException(
                $"DualCluster:Clusters:{role}:Protocol is '{protocol}' but no transport serves it: add its package and register it on the DualCluster builder.");
        return factory.Create(role, cluster, services);
    }

    /// <summary>For containers disposed synchronously: blocks until every transport is disposed.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        IClusterTransport?[] toDispose;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            toDispose = [.. _transports];
        }

        foreach (var transport in toDispose)
        {
            if (transport is not null)
            {
                await transport.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
