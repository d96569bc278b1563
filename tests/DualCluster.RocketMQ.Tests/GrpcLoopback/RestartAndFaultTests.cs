using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.RocketMQ.Tests.GrpcLoopback;

/// <summary>Stop/start on the same port and the wire-level faults tests of clients rely on.</summary>
public sealed class RestartAndFaultTests
{
    [Fact]
    public async Task Restart_keeps_the_port_and_the_messages_and_forgets_client_settings()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        var port = broker.Port;
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using (var before = new WireClient(broker))
        {
            using var telemetry = (await before.OpenTelemetryAsync(before.ConsumerSettings(group, topic))).Stream;
            await before.SendAsync(topic, "kept");
        }

        await broker.RestartBrokerAsync();
        using var client = new WireClient(broker);
        var forgotten = await client.ReceiveAsync(group, topic);
        using var telemetry2 = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        var received = await client.ReceiveAsync(group, topic);

        Assert.Equal(port, broker.Port);
        Assert.True(broker.IsRunning);
        Assert.Equal(Code.UnrecognizedClientType, forgotten.Status!.Code);
        Assert.Equal("kept", Assert.Single(received.Messages).Body.ToStringUtf8());
    }

    [Fact]
    public async Task Stopping_cuts_open_long_polls_and_refuses_connections_until_started()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        var polling = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Service.LongPollStarted += _ => polling.TrySetResult();
        var receive = client.ReceiveAsync(group, topic, longPolling: TimeSpan.FromSeconds(20), timeout: TimeSpan.FromSeconds(60));
        await polling.Task.WaitAsync(WireClient.SafetyTimeout);

        await broker.StopBrokerAsync();
        var cut = await Assert.ThrowsAnyAsync<RpcException>(() => receive.WaitAsync(WireClient.SafetyTimeout));
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.QueryRouteAsync(topic));
        await broker.StartBrokerAsync();
        var route = await client.QueryRouteAsync(topic);

        Assert.NotEqual(StatusCode.OK, cut.StatusCode);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Equal(Code.Ok, route.Status.Code);
    }

    [Fact]
    public async Task Outage_fails_every_call_with_UNAVAILABLE_until_it_ends()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "t");

        broker.Faults.StartOutage();
        var error = await Assert.ThrowsAsync<RpcException>(() => client.SendAsync(topic, "x"));
        broker.Faults.EndOutage();
        var send = await client.SendAsync(topic, "x");

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(Code.Ok, send.Status.Code);
        Assert.Single(broker.Broker.GetMessages(topic));
    }

    [Fact]
    public async Task Injected_failure_answers_the_chosen_code_in_band_then_calls_pass_again()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "t");

        broker.Faults.FailNext(GrpcLoopbackRpc.SendMessage, 1, (int)Code.TooManyRequests);
        var failed = await client.SendAsync(topic, "x");
        var passed = await client.SendAsync(topic, "x");

        Assert.Equal(Code.TooManyRequests, failed.Entries.Single().Status.Code);
        Assert.Equal(Code.Ok, passed.Status.Code);
        Assert.Single(broker.Broker.GetMessages(topic));
        Assert.Equal(2, broker.GetCallCount(GrpcLoopbackRpc.SendMessage));
    }

    [Fact]
    public async Task Dropped_ack_answers_OK_and_the_message_comes_back_after_its_invisibility()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        await client.SendAsync(topic, "x");
        var first = (await client.ReceiveAsync(group, topic, invisible: TimeSpan.FromSeconds(30))).Messages.Single();

        broker.Faults.DropNextAcks(1);
        var ack = await client.AckAsync(group, topic, first);
        time.Advance(TimeSpan.FromSeconds(31));
        var again = (await client.ReceiveAsync(group, topic)).Messages.Single();

        Assert.Equal(Code.Ok, ack.Status.Code);
        Assert.Equal(first.SystemProperties.MessageId, again.SystemProperties.MessageId);
        Assert.Equal(2, again.SystemProperties.DeliveryAttempt);
    }

    [Fact]
    public async Task Delayed_answer_exceeds_a_short_deadline()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);

        broker.Faults.DelayNext(GrpcLoopbackRpc.QueryRoute, 1, TimeSpan.FromSeconds(5));
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.Stub.QueryRouteAsync(new QueryRouteRequest { Topic = client.Resource("t"), Endpoints = client.AccessPoint() }, client.Call(TimeSpan.FromMilliseconds(200))));
        var route = await client.QueryRouteAsync(WireClient.Topic(broker, "t"));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal(Code.Ok, route.Status.Code);
    }

    [Fact]
    public async Task Queue_added_to_a_topic_shows_in_the_next_route()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "t");
        var before = await client.QueryRouteAsync(topic);

        broker.Broker.AddQueues(topic, 1);
        var after = await client.QueryRouteAsync(topic);

        Assert.Equal(4, before.MessageQueues.Count);
        Assert.Equal(5, after.MessageQueues.Count);
        Assert.Equal(4, after.MessageQueues[^1].Id);
    }

    [Fact]
    public async Task Unknown_topic_is_TOPIC_NOT_FOUND_until_it_is_created()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Unique("t");

        var missing = await client.QueryRouteAsync(topic);
        broker.Broker.CreateTopic(topic, 2);
        var found = await client.QueryRouteAsync(topic);

        Assert.Equal(Code.TopicNotFound, missing.Status.Code);
        Assert.Equal(2, found.MessageQueues.Count);
    }

    [Fact]
    public async Task Paused_storage_is_answered_in_band_as_a_proxy_would()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "t");
        await client.QueryRouteAsync(topic);

        broker.Broker.Faults.Pause();
        var send = await client.SendAsync(topic, "x");
        broker.Broker.Faults.Resume();

        Assert.Equal(Code.InternalServerError, send.Entries.Single().Status.Code);
    }

    [Fact]
    public async Task Tls_endpoint_serves_the_same_protocol_with_its_self_signed_certificate()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { Tls = true });
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;

        await client.SendAsync(topic, "secret");
        var received = await client.ReceiveAsync(group, topic);

        Assert.StartsWith("https://127.0.0.1:", broker.Endpoint, StringComparison.Ordinal);
        Assert.NotNull(broker.Certificate);
        Assert.Equal("secret", Assert.Single(received.Messages).Body.ToStringUtf8());
    }

    [Fact]
    public async Task Cluster_options_point_a_grpc_cluster_at_the_broker()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { AccessKey = "ak", SecretKey = "sk", Namespace = "ns" });

        var cluster = broker.ConfigureCluster(new ClusterOptions());
        var configuration = broker.ToConfiguration("DualCluster:Clusters:New");

        Assert.Equal(("Grpc", broker.Address, false), (cluster.Protocol, cluster.Endpoint, cluster.Tls));
        Assert.Equal(("ak", "sk", "ns"), (cluster.AccessKey, cluster.SecretKey, cluster.Namespace));
        Assert.Equal(broker.Address, configuration["DualCluster:Clusters:New:Endpoint"]);
        Assert.Equal("Grpc", configuration["DualCluster:Clusters:New:Protocol"]);
    }
}
