using DualCluster.Conformance.Transport;
using DualCluster.Testing;

namespace DualCluster.Testing.Tests.Transport;

public sealed class InMemoryTransportConformanceTests : TransportConformanceTests
{
    protected override Task<ConformanceCluster> CreateClusterAsync(ClusterRole role)
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = $"conformance-{role}" });
        var transport = new InMemoryClusterTransport(broker, role, new InMemoryTransportOptions
        {
            RetryBackoff = _ => TimeSpan.FromMilliseconds(100),
        });
        return Task.FromResult(new ConformanceCluster(transport, broker));
    }

    protected override Task<int?> CountDeadLettersAsync(ConformanceCluster cluster, string group, string topic) =>
        Task.FromResult<int?>(((InMemoryBroker)cluster.Extra!).GetDeadLetters(group).Count);
}
