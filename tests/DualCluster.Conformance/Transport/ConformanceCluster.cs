using DualCluster.Transport;

namespace DualCluster.Conformance.Transport;

/// <summary>
/// One cluster under test: the transport, plus whatever serves it (an in-memory broker, a loopback server)
/// to tear down when the test ends. <see cref="Extra"/> carries the implementation's own handle (its broker),
/// for the optional hooks of <see cref="TransportConformanceTests"/>.
/// </summary>
public sealed class ConformanceCluster : IAsyncDisposable
{
    private readonly Func<ValueTask>? _dispose;

    /// <summary>Creates the cluster.</summary>
    /// <param name="transport">The transport under test.</param>
    /// <param name="extra">The implementation's handle on what serves the transport (its broker), if any.</param>
    /// <param name="dispose">Tears down what serves the transport, after the transport is disposed.</param>
    public ConformanceCluster(IClusterTransport transport, object? extra = null, Func<ValueTask>? dispose = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Transport = transport;
        Extra = extra;
        _dispose = dispose;
    }

    /// <summary>The transport under test.</summary>
    public IClusterTransport Transport { get; }

    /// <summary>The implementation's handle on what serves the transport.</summary>
    public object? Extra { get; }

    /// <summary>Disposes the transport, then what serves it.</summary>
    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        if (_dispose is not null)
        {
            await _dispose();
        }
    }
}
