using DualCluster.RocketMQ.Remoting;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Testing;

namespace DualCluster.Remoting.Benchmarks;

/// <summary>A loopback name server + broker over an in-memory broker, and a remoting transport pointed at it.</summary>
internal sealed class LoopbackRig : IAsyncDisposable
{
    private LoopbackRig(InMemoryBroker broker, RemotingLoopbackCluster cluster, RemotingTransport transport)
    {
        Broker = broker;
        Cluster = cluster;
        Transport = transport;
    }

    public InMemoryBroker Broker { get; }

    public RemotingLoopbackCluster Cluster { get; }

    public RemotingTransport Transport { get; }

    public static async Task<LoopbackRig> StartAsync()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { NewGroupStartPosition = ConsumeStartPosition.Earliest });
        var cluster = await RemotingLoopbackCluster.StartAsync(broker, new RemotingLoopbackOptions { MaxPullSuspend = TimeSpan.FromSeconds(1) });
        var options = new ClusterOptions
        {
            Protocol = "Remoting",
            NameServers = cluster.NameServerAddress,
            Settings = { ["PullSuspendTimeout"] = "00:00:01", ["RebalanceInterval"] = "00:00:05" },
        };
        var transport = new RemotingTransport(ClusterRole.Old, RemotingSettings.From(options));
        return new LoopbackRig(broker, cluster, transport);
    }

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
