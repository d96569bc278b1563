using DualCluster.Conformance.Transport;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The shared transport conformance suite against a cluster set up by an operator: every test uses the topic and group
/// it is given (nothing is created), sends and sees only its own run's messages (<see cref="RunScopedTransport"/>),
/// and starts from a primed group (<see cref="LiveScenarios.PrimeAsync"/>).
/// </summary>
public abstract class RealClusterConformanceTests : TransportConformanceTests
{
    /// <summary>The cluster to test, and what serves it when the test owns it (a loopback), else null.</summary>
    private protected abstract Task<(LiveCluster Cluster, IAsyncDisposable? Servers)> ConnectAsync();

    protected override async Task<ConformanceCluster> CreateClusterAsync(ClusterRole role)
    {
        var (cluster, servers) = await ConnectAsync();
        try
        {
            var transport = await LiveScenarios.ConnectAsync(cluster, role);
            return new ConformanceCluster(transport, new LiveRun(cluster, servers), servers is null ? null : servers.DisposeAsync);
        }
        catch
        {
            if (servers is not null)
            {
                await servers.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>The names the operator created, never fresh ones.</summary>
    protected override Task<(string Topic, string Group)> NamesAsync(ConformanceCluster cluster)
    {
        var run = Run(cluster);
        return Task.FromResult((run.Cluster.Topic, run.Cluster.Group));
    }

    private protected static LiveRun Run(ConformanceCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return (LiveRun)cluster.Extra!;
    }

    /// <summary>What one conformance test runs against.</summary>
    private protected sealed record LiveRun(LiveCluster Cluster, IAsyncDisposable? Servers);
}
