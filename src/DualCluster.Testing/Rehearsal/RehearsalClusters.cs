using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>
/// Where a rehearsal's two clusters are served from. By default (<see cref="RehearsalOptions.Clusters"/> null) every
/// node reaches the run's two <see cref="InMemoryBroker"/>s in-process. An implementation puts a server in front of
/// each broker instead (for example a loopback RocketMQ broker speaking the real wire protocol), returns the
/// configuration that points a node's cluster at it, and registers the transports that configuration names. The
/// ledger, the faults and the drain checks keep working on the brokers behind the servers, so the same plan and
/// faults rehearse the wire path.
/// </summary>
/// <remarks>
/// The run calls <see cref="StartAsync"/> once per role before any node starts, <see cref="ConfigureNode"/> on every
/// node's builder, and <see cref="StopAsync"/> after the fleet is gone. An instance serves one run at a time.
/// </remarks>
public abstract class RehearsalClusters
{
    /// <summary>A short description for reports, e.g. <c>Old: 4.x remoting over TCP; New: 5.x gRPC over HTTP/2</c>.</summary>
    public abstract string Description { get; }

    /// <summary>Starts serving <paramref name="broker"/> as the <paramref name="role"/> cluster.</summary>
    /// <param name="role">Which cluster.</param>
    /// <param name="broker">The run's broker for that cluster; faults and the ledger act on it.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>
    /// The configuration keys, as full paths (for example <c>DualCluster:Clusters:Old:Protocol</c>), that point a
    /// node's cluster at the server; only keys under <c>DualCluster:</c>. They go under the run's defaults and the
    /// user's <see cref="RehearsalOptions.Settings"/>.
    /// </returns>
    public abstract Task<IReadOnlyDictionary<string, string?>> StartAsync(ClusterRole role, InMemoryBroker broker, CancellationToken cancellationToken);

    /// <summary>
    /// Registers on a node's builder the transport factories the returned configuration names, as instances
    /// (<c>DualClusterBuilder.AddTransportFactory</c>, or a <c>Use…</c> method built on it). The node then picks and
    /// validates each cluster's transport from its configured protocol, as in production.
    /// </summary>
    /// <param name="builder">The node's DualCluster builder.</param>
    public abstract void ConfigureNode(DualClusterBuilder builder);

    /// <summary>
    /// Whether the protocol serving <paramref name="role"/> cannot report some figure the drain verifier needs (the
    /// 5.x gRPC protocol has no backlog query at all). When true, the rehearsal stands in for the operator who reads
    /// those figures from the cluster's console before letting the last consumers leave: every figure the node's probe
    /// reports unknown is filled in from the broker's own count. Default false: the nodes see what their transport sees,
    /// and an unknown figure keeps them on Old unless <c>DualCluster:Consumer:AssumeOldDrainedWhenUnknown</c> is set.
    /// </summary>
    /// <param name="role">Which cluster.</param>
    public virtual bool OperatorReadsBacklogFromConsole(ClusterRole role) => false;

    /// <summary>Stops every server <see cref="StartAsync"/> started.</summary>
    public abstract Task StopAsync();
}
