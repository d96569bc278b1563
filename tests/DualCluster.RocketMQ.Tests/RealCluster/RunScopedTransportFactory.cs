using DualCluster.Transport;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// Wraps a registered transport factory so the facades of a host run on <see cref="RunScopedTransport"/>s: the core still
/// picks and validates the transport by the configured protocol, as in production.
/// </summary>
internal sealed class RunScopedTransportFactory(IClusterTransportFactory inner, string runId, Action<ReceivedMessage, ConsumeOutcome>? settled) : IClusterTransportFactory
{
    public string Protocol => inner.Protocol;

    public IClusterTransport Create(ClusterRole role, ClusterOptions options, IServiceProvider services) =>
        new RunScopedTransport(inner.Create(role, options, services), runId, settled);

    public IEnumerable<string> Validate(ClusterRole role, ClusterOptions options) => inner.Validate(role, options);
}
