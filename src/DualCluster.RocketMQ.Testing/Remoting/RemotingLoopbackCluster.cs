using System.Net;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Testing;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// A RocketMQ 4.x name server and one broker on free 127.0.0.1 ports, speaking the remoting protocol over
/// TCP and backed by an <see cref="InMemoryBroker"/>: point a <c>"Protocol": "Remoting"</c> cluster's
/// <c>NameServers</c> at <see cref="NameServerAddress"/>.
/// </summary>
/// <example><code>
/// await using var cluster = await RemotingLoopbackCluster.StartAsync(new InMemoryBroker());
/// options.Clusters.Old = new ClusterOptions { Protocol = "Remoting", NameServers = cluster.NameServerAddress };
/// </code></example>
public sealed class RemotingLoopbackCluster : IAsyncDisposable
{
    private readonly LoopbackServers _servers;

    private RemotingLoopbackCluster(InMemoryBroker broker, RemotingLoopbackOptions options)
    {
        Broker = broker;
        _servers = new LoopbackServers(new InMemoryRemotingStore(broker, options), options);
    }

    /// <summary>The in-memory broker holding the messages.</summary>
    public InMemoryBroker Broker { get; }

    /// <summary>The settings this cluster was started with.</summary>
    public RemotingLoopbackOptions Options => _servers.Options;

    /// <summary>Wire-level fault injection (failed responses, dropped connections).</summary>
    public RemotingLoopbackFaults Faults => _servers.Faults;

    /// <summary>The name server's <c>127.0.0.1:port</c>, for <c>ClusterOptions.NameServers</c>.</summary>
    public string NameServerAddress => _servers.NameServerAddress;

    /// <summary>The broker's <c>127.0.0.1:port</c> (what routes point at).</summary>
    public string BrokerAddress => _servers.BrokerAddress;

    /// <summary>Starts a name server and a broker over <paramref name="broker"/>.</summary>
    /// <param name="broker">The in-memory broker to serve.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static Task<RemotingLoopbackCluster> StartAsync(InMemoryBroker broker, RemotingLoopbackOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(broker);
        cancellationToken.ThrowIfCancellationRequested();
        var cluster = new RemotingLoopbackCluster(broker, options ?? new RemotingLoopbackOptions());
        cluster._servers.Start();
        return Task.FromResult(cluster);
    }

    /// <summary>Stops the broker (every connection drops, held pulls are abandoned), as a crash would.</summary>
    public Task StopBrokerAsync() => _servers.StopBrokerAsync();

    /// <summary>Starts the broker again on the same port; stored messages and offsets are kept.</summary>
    public Task StartBrokerAsync()
    {
        _servers.StartBroker();
        return Task.CompletedTask;
    }

    /// <summary>Stops and starts the broker on the same port.</summary>
    public async Task RestartBrokerAsync()
    {
        await StopBrokerAsync().ConfigureAwait(false);
        await StartBrokerAsync().ConfigureAwait(false);
    }

    /// <summary>How many requests with <paramref name="requestCode"/> the broker's ACL check refused.</summary>
    internal int AclRefusals(int requestCode) => _servers.Broker.AclRefusals(requestCode);

    /// <summary>The client ids the broker currently sees in <paramref name="group"/> (as sent in heartbeats).</summary>
    public IReadOnlyList<string> GetConsumerIds(string group) => _servers.Broker.Consumers.ClientIds(group);

    /// <summary>
    /// Expires the messages of one queue below <paramref name="beforeOffset"/>, as Apache's retention deletes old
    /// commit-log files: the queue's min offset (GET_MIN_OFFSET, PULL responses) becomes <paramref name="beforeOffset"/>
    /// (at most its max offset), pulls below it answer PULL_OFFSET_MOVED, and a new group no longer gets the "young
    /// queue" offset 0. The in-memory broker behind keeps the messages; only the 4.x view changes.
    /// </summary>
    /// <param name="topic">The topic (as on the wire, namespaced if the client uses a namespace).</param>
    /// <param name="queueId">The queue.</param>
    /// <param name="beforeOffset">The new min offset.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="beforeOffset"/> is negative.</exception>
    public void ExpireMessages(string topic, int queueId, long beforeOffset)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(beforeOffset);
        _servers.Store.ExpireBefore(topic, queueId, beforeOffset);
    }

    /// <summary>Raised for every HEART_BEAT the broker handles: the client id and the consumer groups it carried.</summary>
    internal event Action<string, IReadOnlyList<string>>? HeartbeatReceived
    {
        add => _servers.Broker.HeartbeatReceived += value;
        remove => _servers.Broker.HeartbeatReceived -= value;
    }

    /// <summary>Stops both servers.</summary>
    public ValueTask DisposeAsync() => _servers.DisposeAsync();
}
