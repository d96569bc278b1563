using System.Globalization;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Testing;

namespace DualCluster.RocketMQ.Testing;

/// <summary>
/// Rehearses a migration over the RocketMQ wire protocols: each cluster of the rehearsal is served by a loopback
/// broker (<see cref="RemotingLoopbackCluster"/> for the 4.x remoting protocol over TCP, <see cref="GrpcLoopbackBroker"/>
/// for the 5.x gRPC protocol over HTTP/2) and every node connects to it with the transports of
/// <c>UseRocketMQ()</c>. The default is the usual migration: Old a self-built 4.x cluster, New a 5.x (TDMQ) cluster.
/// </summary>
/// <example><code>
/// var options = new RehearsalOptions { Messages = 20_000, Clusters = new RocketMQRehearsalClusters() };
/// var result = await new MigrationRehearsal(options).RunAsync();
/// </code></example>
/// <remarks>
/// The servers use short schedules (pull suspends, rebalances, assignment scans, send-back delays) so redeliveries
/// and rebalances happen within a rehearsal. The 5.x protocol cannot report a backlog: with Old on gRPC the rehearsal
/// stands in for the operator who reads it from the console (<see cref="OperatorReadsBacklogFromConsole"/>) rather than
/// setting <c>DualCluster:Consumer:AssumeOldDrainedWhenUnknown</c>, which would let the last consumers leave Old while
/// messages fetched by a crashed node are still invisible there (a rehearsal with that override and consumer crashes
/// loses them).
/// <para>
/// A consumer crash over the wire is modelled by stopping the dead node's consumers without waiting, as closed
/// connections would stop them. The 5.x consumer then fetches nothing more and its deliveries come back when their
/// invisibility lapses. The 4.x remoting consumer's stop never commits a queue another node took over, nor beyond
/// the lowest unfinished offset, so its late stop after hung handlers does not move an offset back: consumer crashes
/// can be rehearsed with Old on 4.x too.
/// </para>
/// </remarks>
public sealed class RocketMQRehearsalClusters : RehearsalClusters
{
    /// <summary>The 4.x remoting protocol (name server + broker over TCP).</summary>
    public const string Remoting = "Remoting";

    /// <summary>The 5.x gRPC protocol (HTTP/2).</summary>
    public const string Grpc = "Grpc";

    private readonly List<IAsyncDisposable> _servers = [];
    private readonly object _gate = new();

    /// <summary>Serves Old with <paramref name="oldProtocol"/> and New with <paramref name="newProtocol"/>.</summary>
    /// <param name="oldProtocol"><see cref="Remoting"/> (default) or <see cref="Grpc"/>.</param>
    /// <param name="newProtocol"><see cref="Grpc"/> (default) or <see cref="Remoting"/>.</param>
    /// <exception cref="ArgumentException">A protocol is neither.</exception>
    public RocketMQRehearsalClusters(string oldProtocol = Remoting, string newProtocol = Grpc)
    {
        OldProtocol = Check(oldProtocol, nameof(oldProtocol));
        NewProtocol = Check(newProtocol, nameof(newProtocol));
    }

    /// <summary>The protocol serving Old.</summary>
    public string OldProtocol { get; }

    /// <summary>The protocol serving New.</summary>
    public string NewProtocol { get; }

    /// <inheritdoc />
    public override string Description => $"Old: {Describe(OldProtocol)}; New: {Describe(NewProtocol)}";

    /// <inheritdoc />
    public override async Task<IReadOnlyDictionary<string, string?>> StartAsync(ClusterRole role, InMemoryBroker broker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(broker);
        var section = $"DualCluster:Clusters:{role}";
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (ProtocolOf(role) == Remoting)
        {
            var cluster = await RemotingLoopbackCluster.StartAsync(
                broker,
                new RemotingLoopbackOptions
                {
                    // Send-back retries come back within a second instead of 10 s, 30 s, 1 min…
                    DelayLevels = [.. Enumerable.Range(1, 18).Select(level => TimeSpan.FromMilliseconds(Math.Min(100 * level, 1000)))],
                    MaxPullSuspend = TimeSpan.FromSeconds(1),
                },
                cancellationToken).ConfigureAwait(false);
            Add(cluster);
            settings[$"{section}:Protocol"] = Remoting;
            settings[$"{section}:NameServers"] = cluster.NameServerAddress;
            settings[$"{section}:Settings:PullSuspendTimeout"] = "00:00:01";
            settings[$"{section}:Settings:RebalanceInterval"] = "00:00:01";
            settings[$"{section}:Settings:OffsetPersistInterval"] = "00:00:00.200";
            settings[$"{section}:Settings:HeartbeatInterval"] = "00:00:01";
        }
        else
        {
            var server = await GrpcLoopbackBroker.StartAsync(
                broker,
                new GrpcLoopbackOptions
                {
                    // The rehearsal has no topic-creation step (its in-memory brokers create topics on first use), so the
                    // proxy may create them too; a genuine 5.x proxy would answer TOPIC_NOT_FOUND instead.
                    AutoCreateTopics = true,
                    // The rehearsal keeps deliveries invisible for about a second so that redeliveries come quickly.
                    MinInvisibleDuration = TimeSpan.FromMilliseconds(500),
                    MinLongPollingTimeout = TimeSpan.FromSeconds(1),
                    PushLongPollingTimeout = TimeSpan.FromSeconds(1),
                    ConsumerRetryDelays = [TimeSpan.FromMilliseconds(100)],
                    ShutdownTimeout = TimeSpan.FromSeconds(1),
                },
                cancellationToken).ConfigureAwait(false);
            Add(server);
            foreach (var (key, value) in server.ToConfiguration(section))
            {
                settings[key] = value;
            }

            settings[$"{section}:Settings:AssignmentScanInterval"] = "00:00:01";
            settings[$"{section}:Settings:TelemetryReconnectDelay"] = "00:00:00.200";
            settings[$"{section}:Settings:LongPollingTimeout"] = "00:00:01";
        }

        return settings;
    }

    /// <summary>True for a cluster served over gRPC: the 5.x protocol has no backlog query.</summary>
    /// <param name="role">Which cluster.</param>
    public override bool OperatorReadsBacklogFromConsole(ClusterRole role) => ProtocolOf(role) == Grpc;

    /// <inheritdoc />
    public override void ConfigureNode(DualClusterBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseRocketMQ();
    }

    /// <inheritdoc />
    public override async Task StopAsync()
    {
        IAsyncDisposable[] servers;
        lock (_gate)
        {
            servers = [.. _servers];
            _servers.Clear();
        }

        foreach (var server in servers)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Add(IAsyncDisposable server)
    {
        lock (_gate)
        {
            _servers.Add(server);
        }
    }

    private string ProtocolOf(ClusterRole role) => role == ClusterRole.Old ? OldProtocol : NewProtocol;

    private static string Describe(string protocol) =>
        protocol == Remoting ? "4.x remoting over TCP (loopback name server + broker)" : "5.x gRPC over HTTP/2 (loopback proxy)";

    private static string Check(string protocol, string name) =>
        string.Equals(protocol, Remoting, StringComparison.OrdinalIgnoreCase) ? Remoting
        : string.Equals(protocol, Grpc, StringComparison.OrdinalIgnoreCase) ? Grpc
        : throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"'{protocol}' is not a RocketMQ protocol: use \"{Remoting}\" (4.x) or \"{Grpc}\" (5.x)."), name);
}
