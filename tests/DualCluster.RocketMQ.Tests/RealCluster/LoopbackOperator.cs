using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Testing;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// Loopback servers set up as an operator sets up a real cluster for the check: topic auto-creation off, the topic
/// (NORMAL, 4 queues) and the consumer group created explicitly, credentials on; and handed to the suite the way an
/// operator hands a real cluster over, as <c>DUALCLUSTER_IT_*</c> variables (<see cref="Variables"/>).
/// </summary>
internal sealed class LoopbackOperator : IAsyncDisposable
{
    private const int QueueCount = 4;

    private LoopbackOperator(string topic, string group)
    {
        Topic = topic;
        Group = group;
        Variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [LiveClusterSettings.Topic] = topic,
            [LiveClusterSettings.Group] = group,
        };
    }

    public string Topic { get; }

    public string Group { get; }

    /// <summary>The 4.x name server + broker, when started.</summary>
    public RemotingLoopbackCluster? Remoting { get; private set; }

    /// <summary>The 5.x proxy, when started.</summary>
    public GrpcLoopbackBroker? Grpc { get; private set; }

    /// <summary>What an operator would export for the suite.</summary>
    public Dictionary<string, string> Variables { get; }

    /// <summary>The suite's view of these servers, through the same variable parsing as a live run.</summary>
    public LiveClusterSettings Settings => LiveClusterSettings.From(Variables);

    /// <summary>Starts the servers asked for, on free 127.0.0.1 ports, with a fresh topic and group on each.</summary>
    /// <param name="remoting">Start a 4.x name server + broker.</param>
    /// <param name="grpc">Start a 5.x proxy.</param>
    public static async Task<LoopbackOperator> StartAsync(bool remoting, bool grpc)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        var servers = new LoopbackOperator("it-topic-" + id, "it-group-" + id);
        try
        {
            if (remoting)
            {
                await servers.StartRemotingAsync();
            }

            if (grpc)
            {
                await servers.StartGrpcAsync();
            }

            return servers;
        }
        catch
        {
            await servers.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Remoting is not null)
        {
            await Remoting.DisposeAsync();
        }

        if (Grpc is not null)
        {
            await Grpc.DisposeAsync();
        }
    }

    private async Task StartRemotingAsync()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old", AutoCreateTopics = false });
        // mqadmin updateTopic -t {topic} -r 4 -w 4 ; mqadmin updateSubGroup -g {group}
        broker.CreateTopic(Topic, QueueCount);
        broker.ConfigureGroup(Group);
        Remoting = await RemotingLoopbackCluster.StartAsync(broker, new RemotingLoopbackOptions
        {
            AutoCreateTopics = false,
            AccessKey = "it-remoting-ak",
            SecretKey = "it-remoting-sk",
            // A real broker's first delay levels are 1 s, 5 s, 10 s…; shorter here so the check over loopback is quick.
            DelayLevels = [.. Enumerable.Repeat(TimeSpan.FromMilliseconds(100), 18)],
        });
        Variables[LiveClusterSettings.RemotingNameServers] = Remoting.NameServerAddress;
        Variables[LiveClusterSettings.RemotingAccessKey] = "it-remoting-ak";
        Variables[LiveClusterSettings.RemotingSecretKey] = "it-remoting-sk";
    }

    private async Task StartGrpcAsync()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new", AutoCreateTopics = false });
        // mqadmin updateTopic -t {topic} -r 4 -w 4 -a +message.type=NORMAL ; mqadmin updateSubGroup -g {group}
        broker.CreateTopic(Topic, QueueCount);
        broker.ConfigureGroup(Group);
        var options = new GrpcLoopbackOptions
        {
            AutoCreateTopics = false,
            Tls = true,
            AccessKey = "it-grpc-ak",
            SecretKey = "it-grpc-sk",
            ConsumerRetryDelays = [TimeSpan.FromMilliseconds(100)],
        };
        options.TopicTypes[Topic] = GrpcLoopbackTopicType.Normal;
        Grpc = await GrpcLoopbackBroker.StartAsync(broker, options);
        Variables[LiveClusterSettings.GrpcEndpoint] = Grpc.Address;
        Variables[LiveClusterSettings.GrpcTls] = "true";
        // The loopback's certificate is self-signed, as on many test clusters.
        Variables[LiveClusterSettings.GrpcAllowInvalidCertificates] = "true";
        Variables[LiveClusterSettings.GrpcAccessKey] = "it-grpc-ak";
        Variables[LiveClusterSettings.GrpcSecretKey] = "it-grpc-sk";
    }
}
