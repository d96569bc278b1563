using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;

namespace DualCluster.RocketMQ.Tests.GrpcLoopback;

/// <summary>What the proxy checks before it serves a call (fact sheet §3, §3.1, §6.4): in-band statuses, never gRPC errors.</summary>
public sealed class AdmissionTests
{
    [Fact]
    public async Task Call_without_client_id_is_refused_with_CLIENT_ID_REQUIRED_in_band()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker) { Omit = { "x-mq-client-id" } };

        var route = await client.QueryRouteAsync(WireClient.Topic(broker, "t"));
        var send = await client.SendAsync(WireClient.Topic(broker, "t"), "x");
        var receive = await client.ReceiveAsync(WireClient.Unique("g"), WireClient.Topic(broker, "t"));

        Assert.Equal(Code.ClientIdRequired, route.Status.Code);
        Assert.Equal(Code.ClientIdRequired, send.Entries.Single().Status.Code);
        Assert.Equal(Code.ClientIdRequired, receive.Status!.Code);
        Assert.Equal(ReceiveMessageResponse.ContentOneofCase.DeliveryTimestamp, receive.Responses[^1].ContentCase);
    }

    [Fact]
    public async Task Heartbeat_without_a_known_language_fails_with_INTERNAL_SERVER_ERROR()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "t");
        using var telemetry = (await client.OpenTelemetryAsync(client.ProducerSettings(topic))).Stream;
        client.Language = "DOT_NET"; // the proto enum name, not the remoting LanguageCode name (§9.1)

        var heartbeat = await client.Stub.HeartbeatAsync(new HeartbeatRequest { ClientType = ClientType.Producer }, client.Call());

        Assert.Equal(Code.InternalServerError, heartbeat.Status.Code);
    }

    [Fact]
    public async Task Headers_the_options_require_are_checked_on_every_call()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { RequiredHeaders = { "x-mq-request-id" } });
        using var without = new WireClient(broker) { Omit = { "x-mq-request-id" } };
        using var with = new WireClient(broker);

        var refused = await without.QueryRouteAsync(WireClient.Topic(broker, "t"));
        var served = await with.QueryRouteAsync(WireClient.Topic(broker, "t"));

        Assert.Equal(Code.BadRequest, refused.Status.Code);
        Assert.Contains("x-mq-request-id", refused.Status.Message, StringComparison.Ordinal);
        Assert.Equal(Code.Ok, served.Status.Code);
    }

    [Fact]
    public void Signature_matches_the_fact_sheet_test_vector()
    {
        Assert.Equal("340034F7C9DBF7675A93BF160A98DE9EFA9A6812", WireClient.Sign("mySecret", "20250102T030405Z"));
    }

    [Fact]
    public async Task Right_signature_is_accepted_and_wrong_or_missing_ones_are_UNAUTHORIZED()
    {
        var options = new GrpcLoopbackOptions { AccessKey = "ak", SecretKey = "mySecret" };
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), options);
        using var right = new WireClient(broker) { AccessKey = "ak", SecretKey = "mySecret", DateTime = "20250102T030405Z" };
        using var wrongSecret = new WireClient(broker) { AccessKey = "ak", SecretKey = "other" };
        using var unknownUser = new WireClient(broker) { AccessKey = "nobody", SecretKey = "mySecret" };
        using var anonymous = new WireClient(broker);
        using var noDate = new WireClient(broker) { AccessKey = "ak", SecretKey = "mySecret", Omit = { "x-mq-date-time" } };
        var topic = WireClient.Topic(broker, "t");

        Assert.Equal(Code.Ok, (await right.QueryRouteAsync(topic)).Status.Code);
        Assert.Equal(Code.Ok, (await right.SendAsync(topic, "x")).Status.Code);
        Assert.Equal(Code.Unauthorized, (await wrongSecret.QueryRouteAsync(topic)).Status.Code);
        Assert.Equal(Code.Unauthorized, (await unknownUser.SendAsync(topic, "x")).Entries.Single().Status.Code);
        Assert.Equal(Code.Unauthorized, (await anonymous.QueryRouteAsync(topic)).Status.Code);
        Assert.Equal(Code.Unauthorized, (await noDate.QueryRouteAsync(topic)).Status.Code);
        Assert.Single(broker.Broker.GetMessages(topic));
    }

    [Fact]
    public async Task Telemetry_with_a_wrong_signature_gets_one_UNAUTHORIZED_command_then_ends()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { AccessKey = "ak", SecretKey = "s3cret" });
        using var client = new WireClient(broker) { AccessKey = "ak", SecretKey = "wrong" };
        var (stream, reply) = await client.OpenTelemetryAsync(client.ProducerSettings(WireClient.Topic(broker, "t")));
        using var _ = stream;

        Assert.Equal(Code.Unauthorized, reply.Status.Code);
        Assert.Equal(TelemetryCommand.CommandOneofCase.None, reply.CommandCase);
        Assert.False(await stream.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(WireClient.SafetyTimeout));
    }

    [Fact]
    public async Task Configured_namespace_is_required_and_echoed()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { Namespace = "MQ_INST_1" });
        using var tenant = new WireClient(broker) { Namespace = "MQ_INST_1" };
        using var stranger = new WireClient(broker) { Namespace = "MQ_INST_2" };
        var topic = WireClient.Topic(broker, "t");

        var route = await tenant.QueryRouteAsync(topic);
        var refused = await stranger.QueryRouteAsync(topic);

        Assert.Equal(Code.Ok, route.Status.Code);
        Assert.All(route.MessageQueues, q => Assert.Equal("MQ_INST_1", q.Topic.ResourceNamespace));
        Assert.Equal(Code.Forbidden, refused.Status.Code);
    }
}
