using DualCluster.Testing;
using DualCluster.Transport;

namespace DualCluster.Testing.Tests.Rehearsal;

/// <summary>The extension point that serves a rehearsal's clusters some other way (e.g. over a wire protocol).</summary>
public sealed class RehearsalClustersTests
{
    [Fact]
    public async Task The_nodes_reach_the_clusters_through_the_transport_the_configuration_names_and_the_servers_stop_at_the_end()
    {
        var clusters = new ProtocolClusters();
        var options = new RehearsalOptions { Messages = 2_000, Seed = 3, Clusters = clusters, ProducerNodes = 2, ConsumerNodes = 2 };

        var result = await new MigrationRehearsal(options).RunAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(result.Passed, $"lost {result.Lost}, duplicate effects {result.DuplicateEffects}");
        Assert.Equal(2_000, result.HandledUnique);
        Assert.Equal([ClusterRole.Old, ClusterRole.New], clusters.Started);
        Assert.True(clusters.Created[ClusterRole.Old] >= 4, "every node creates its Old transport through the registered factory");
        Assert.True(clusters.Created[ClusterRole.New] >= 4, "every node creates its New transport through the registered factory");
        Assert.True(clusters.Stopped);
    }

    [Fact]
    public async Task A_key_outside_the_DualCluster_section_is_refused_with_its_name()
    {
        var options = new RehearsalOptions { Messages = 100, Clusters = new ProtocolClusters(extraKey: "Logging:LogLevel:Default") };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new MigrationRehearsal(options).RunAsync());

        Assert.Contains("Logging:LogLevel:Default", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_figure_the_transport_cannot_see_is_read_from_the_console_when_the_operator_does_so()
    {
        // Old's transport is blind to every figure, as the 5.x protocol is. Without the console the last consumers
        // would never leave Old; with it they leave once the broker's own count shows nothing left, and lose nothing.
        var clusters = new ProtocolClusters(consoleFor: ClusterRole.Old);
        var options = new RehearsalOptions
        {
            Messages = 4_000,
            Seed = 5,
            Clusters = clusters,
            ProducerNodes = 2,
            ConsumerNodes = 3,
        };

        var result = await new MigrationRehearsal(options).RunAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(result.Passed, $"lost {result.Lost}, duplicate effects {result.DuplicateEffects}");
        Assert.Equal(0, result.Steps[^1].ConsumersReadingOld);
    }

    /// <summary>Serves both clusters through a transport factory of its own protocol ("Counted"), over the run's brokers.</summary>
    private sealed class ProtocolClusters(string? extraKey = null, ClusterRole? consoleFor = null) : RehearsalClusters
    {
        private readonly Dictionary<ClusterRole, InMemoryBroker> _brokers = [];

        public List<ClusterRole> Started { get; } = [];

        public Dictionary<ClusterRole, int> Created { get; } = new() { [ClusterRole.Old] = 0, [ClusterRole.New] = 0 };

        public bool Stopped { get; private set; }

        public override string Description => "counted in-memory transports";

        public override Task<IReadOnlyDictionary<string, string?>> StartAsync(ClusterRole role, InMemoryBroker broker, CancellationToken cancellationToken)
        {
            Started.Add(role);
            _brokers[role] = broker;
            var settings = new Dictionary<string, string?> { [$"DualCluster:Clusters:{role}:Protocol"] = "Counted" };
            if (extraKey is not null)
            {
                settings[extraKey] = "x";
            }

            return Task.FromResult<IReadOnlyDictionary<string, string?>>(settings);
        }

        public override void ConfigureNode(DualClusterBuilder builder) => builder.AddTransportFactory(new Factory(this));

        public override bool OperatorReadsBacklogFromConsole(ClusterRole role) => role == consoleFor;

        public override Task StopAsync()
        {
            Stopped = true;
            return Task.CompletedTask;
        }

        private sealed class BlindTransport(IClusterTransport inner) : IClusterTransport
        {
            public ClusterRole Role => inner.Role;

            public IClusterProducer Producer => inner.Producer;

            public IBacklogProbe BacklogProbe { get; } = new BlindProbe(inner.BacklogProbe);

            public IClusterConsumer CreateConsumer(ConsumerSubscription subscription, ClusterMessageHandler handler) => inner.CreateConsumer(subscription, handler);

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }

        private sealed class Factory(ProtocolClusters owner) : IClusterTransportFactory
        {
            public string Protocol => "Counted";

            public IClusterTransport Create(ClusterRole role, ClusterOptions options, IServiceProvider services)
            {
                lock (owner.Created)
                {
                    owner.Created[role]++;
                }

                var transport = new InMemoryClusterTransport(owner._brokers[role], role);
                return owner.OperatorReadsBacklogFromConsole(role) ? new BlindTransport(transport) : transport;
            }

            public IEnumerable<string> Validate(ClusterRole role, ClusterOptions options) => [];
        }
    }

    /// <summary>A transport probe that can see no figure at all.</summary>
    private sealed class BlindProbe(IBacklogProbe inner) : IBacklogProbe
    {
        public async ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default)
        {
            _ = await inner.GetBacklogAsync(group, topic, cancellationToken);
            return BacklogReport.Unknown("blind");
        }
    }
}
