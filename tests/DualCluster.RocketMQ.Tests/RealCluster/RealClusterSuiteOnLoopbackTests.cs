using DualCluster.Conformance.Transport;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The real-cluster suite checked against loopback servers set up as an operator sets up a real cluster
/// (<see cref="LoopbackOperator"/>: topic and group created explicitly, no auto-creation, credentials, TLS with a
/// self-signed certificate), handed over as <c>DUALCLUSTER_IT_*</c> variables. It runs the same code as the live
/// classes: the conformance suite on the given names over 4.x remoting (inherited), and every scenario over both
/// protocols. Each test starts its own servers, so these tests run in parallel with everything else.
/// </summary>
public sealed class RealClusterSuiteOnLoopbackTests : RealClusterConformanceTests
{
    protected override bool BacklogIsExact => true;

    [Theory]
    [InlineData(LiveCluster.Remoting)]
    [InlineData(LiveCluster.Grpc)]
    public Task Messages_sent_arrive_intact_once_each(string protocol) => RunAsync(protocol, LiveScenarios.SentMessagesArriveIntactOnceEachAsync);

    [Theory]
    [InlineData(LiveCluster.Remoting)]
    [InlineData(LiveCluster.Grpc)]
    public Task A_handler_failure_is_redelivered_then_settled(string protocol) => RunAsync(protocol, LiveScenarios.HandlerFailureIsRedeliveredThenSettledAsync);

    [Theory]
    [InlineData(LiveCluster.Remoting)]
    [InlineData(LiveCluster.Grpc)]
    public Task Backlog_is_reported_as_exactly_as_the_protocol_can(string protocol) => RunAsync(protocol, LiveScenarios.BacklogIsReportedAsTheProtocolCanAsync);

    [Theory]
    [InlineData(LiveCluster.Remoting)]
    [InlineData(LiveCluster.Grpc)]
    public Task A_consumer_stopped_and_started_again_loses_nothing(string protocol) => RunAsync(protocol, LiveScenarios.ConsumerStoppedAndStartedAgainLosesNothingAsync);

    [Fact]
    public async Task Messages_written_to_Old_to_New_or_to_both_are_each_handled_once_by_a_double_reader()
    {
        await using var servers = await LoopbackOperator.StartAsync(remoting: true, grpc: true);
        await LiveScenarios.MigrationFacadesHandleEveryMessageOnceAsync(servers.Settings.RequireRemoting(), servers.Settings.RequireGrpc());
    }

    [Fact]
    public async Task Messages_of_other_runs_on_the_topic_are_acknowledged_and_ignored()
    {
        await using var servers = await LoopbackOperator.StartAsync(remoting: true, grpc: false);
        var cluster = servers.Settings.RequireRemoting();
        await using (await LiveScenarios.ConnectAsync(cluster, ClusterRole.Old))
        {
            // A first run positions the group.
        }

        // Then an interrupted run leaves a message behind, and another application writes one without a run id.
        await using (var interrupted = new RunScopedTransport(cluster.Connect(ClusterRole.Old), RunScopedTransport.NewRunId()))
        {
            await interrupted.Producer.SendAsync(new OutgoingMessage(cluster.Topic, "left over"u8.ToArray()) { IdempotencyKey = "left-over" });
        }

        servers.Remoting!.Broker.Send(new OutgoingMessage(cluster.Topic, "foreign"u8.ToArray()) { IdempotencyKey = "foreign" });

        await using var transport = await LiveScenarios.ConnectAsync(cluster, ClusterRole.Old);

        Assert.Equal(2, transport.Ignored);
        Assert.True(servers.Remoting.Broker.GetBacklog(cluster.Group, cluster.Topic).Ready == 0, "priming drained the older messages");
    }

    [Fact]
    public async Task A_topic_that_was_not_created_stops_the_suite_before_anything_is_sent()
    {
        await using var servers = await LoopbackOperator.StartAsync(remoting: true, grpc: false);
        var cluster = servers.Settings.RequireRemoting() with { Topic = "it-never-created" };

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => LiveScenarios.ConnectAsync(cluster, ClusterRole.Old));

        Assert.Contains("create it first", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, servers.Remoting!.Broker.Counters.Stored + servers.Remoting.Broker.Counters.SendsFailed);
        Assert.False(servers.Remoting.Broker.TopicExists("it-never-created"));
    }

    [Fact]
    public void Every_conformance_test_is_one_a_live_class_can_skip()
    {
        // A plain [Fact] or [Theory] added to the shared suite would run in the live classes without a cluster (and fail in CI).
        var tests = typeof(TransportConformanceTests).GetMethods()
            .Where(m => m.GetCustomAttributes(typeof(FactAttribute), inherit: true).Length > 0)
            .ToList();

        Assert.NotEmpty(tests);
        Assert.All(tests, m => Assert.True(
            m.GetCustomAttributes(typeof(FactAttribute), inherit: true).All(a => a is ConformanceFactAttribute),
            $"{m.Name}: mark the tests of the shared suite [ConformanceFact], not [Fact] or [Theory]"));
    }

    [Fact]
    public void Without_the_variables_every_live_test_says_how_to_enable_it()
    {
        var none = LiveClusterSettings.From(new Dictionary<string, string>());

        Assert.Equal("set DUALCLUSTER_IT_REMOTING_NAMESERVERS to run against a live 4.x cluster (see docs/real-clusters.md)", none.RemotingSkipReason);
        Assert.Equal("set DUALCLUSTER_IT_GRPC_ENDPOINT to run against a live 5.x cluster (see docs/real-clusters.md)", none.GrpcSkipReason);
        Assert.NotNull(none.MigrationSkipReason);
        var serverOnly = LiveClusterSettings.From(new Dictionary<string, string> { [LiveClusterSettings.RemotingNameServers] = "127.0.0.1:9876" });
        Assert.Null(serverOnly.RemotingSkipReason);
        Assert.Contains(LiveClusterSettings.Topic, Assert.Throws<InvalidOperationException>(serverOnly.RequireRemoting).Message);
    }

    private protected override async Task<(LiveCluster Cluster, IAsyncDisposable? Servers)> ConnectAsync()
    {
        var servers = await LoopbackOperator.StartAsync(remoting: true, grpc: false);
        return (servers.Settings.RequireRemoting(), servers);
    }

    protected override Task<int?> CountDeadLettersAsync(ConformanceCluster cluster, string group, string topic) =>
        Task.FromResult<int?>(((LoopbackOperator)Run(cluster).Servers!).Remoting!.Broker.GetDeadLetters(group).Count);

    private static async Task RunAsync(string protocol, Func<LiveCluster, Task> scenario)
    {
        await using var servers = await LoopbackOperator.StartAsync(remoting: protocol == LiveCluster.Remoting, grpc: protocol == LiveCluster.Grpc);
        await scenario(protocol == LiveCluster.Remoting ? servers.Settings.RequireRemoting() : servers.Settings.RequireGrpc());
    }
}
