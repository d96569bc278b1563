using DualCluster.Conformance.Transport;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Testing;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>
/// The shared transport conformance suite over real TCP: the remoting transport against a loopback name
/// server + broker on free 127.0.0.1 ports, one pair per test. Delay levels are shortened to 100 ms so
/// send-back retries come back within the suite's one-second expectation.
/// </summary>
public sealed class RemotingTransportConformanceTests : TransportConformanceTests
{
    protected override async Task<ConformanceCluster> CreateClusterAsync(ClusterRole role)
    {
        var servers = await StartLoopbackAsync(new RemotingLoopbackOptions { AutoCreateTopics = false });
        var transport = NewTransport(servers.NameServerAddress, role: role);
        return new ConformanceCluster(transport, servers, () => servers.DisposeAsync());
    }

    /// <summary>Topics exist before use, as on TDMQ (created in the console) or a cluster without auto-create.</summary>
    protected override Task PrepareTopicAsync(ConformanceCluster cluster, string topic)
    {
        Loopback(cluster).Broker.CreateTopic(topic, 4);
        return Task.CompletedTask;
    }

    protected override Task<int?> CountDeadLettersAsync(ConformanceCluster cluster, string group, string topic) =>
        Task.FromResult<int?>(Loopback(cluster).Broker.GetDeadLetters(group).Count);

    private static RemotingLoopbackCluster Loopback(ConformanceCluster cluster) => (RemotingLoopbackCluster)cluster.Extra!;
}
