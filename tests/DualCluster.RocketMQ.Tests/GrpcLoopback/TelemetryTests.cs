using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using Grpc.Core;

namespace DualCluster.RocketMQ.Tests.GrpcLoopback;

/// <summary>Telemetry first (fact sheet §4.2, §9.2): the broker knows a client only from the settings it sent there.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Heartbeat_and_receive_before_settings_are_UNRECOGNIZED_CLIENT_TYPE_and_pass_after()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "t");
        var group = WireClient.Unique("g");
        var heartbeat = new HeartbeatRequest { ClientType = ClientType.SimpleConsumer, Group = client.Resource(group) };

        var earlyHeartbeat = await client.Stub.HeartbeatAsync(heartbeat, client.Call());
        var earlyReceive = await client.ReceiveAsync(group, topic);
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        var lateHeartbeat = await client.Stub.HeartbeatAsync(heartbeat, client.Call());
        await client.SendAsync(topic, "x");
        var lateReceive = await client.ReceiveAsync(group, topic);

        Assert.Equal(Code.UnrecognizedClientType, earlyHeartbeat.Status.Code);
        Assert.Equal(Code.UnrecognizedClientType, earlyReceive.Status!.Code);
        Assert.Equal(Code.Ok, lateHeartbeat.Status.Code);
        Assert.Equal(Code.Ok, lateReceive.Status!.Code);
        Assert.Single(lateReceive.Messages);
    }

    [Fact]
    public async Task Producer_settings_reply_carries_exponential_backoff_body_limit_and_metrics_off()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "t");

        var (stream, reply) = await client.OpenTelemetryAsync(client.ProducerSettings(topic));
        using var _ = stream;

        Assert.Equal(Code.Ok, reply.Status.Code);
        var settings = reply.Settings;
        Assert.Equal(ClientType.Producer, settings.ClientType);
        Assert.Equal(3, settings.BackoffPolicy.MaxAttempts);
        Assert.Equal(RetryPolicy.StrategyOneofCase.ExponentialBackoff, settings.BackoffPolicy.StrategyCase);
        Assert.Equal(TimeSpan.FromMilliseconds(10), settings.BackoffPolicy.ExponentialBackoff.Initial.ToTimeSpan());
        Assert.Equal(4 * 1024 * 1024, settings.Publishing.MaxBodySize);
        Assert.True(settings.Publishing.ValidateMessageType);
        Assert.Equal(topic, settings.Publishing.Topics.Single().Name);
        Assert.False(settings.Metric.On);
        Assert.Equal([client.ClientId], broker.GetClientIds());
    }

    [Fact]
    public async Task Push_consumer_settings_reply_carries_batch_size_long_polling_backoff_and_fifo_flag()
    {
        var group = WireClient.Unique("g");
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { FifoGroups = { group } });
        using var client = new WireClient(broker);

        var (stream, reply) = await client.OpenTelemetryAsync(client.ConsumerSettings(group, WireClient.Topic(broker, "t"), ClientType.PushConsumer));
        using var _ = stream;

        var subscription = reply.Settings.Subscription;
        Assert.True(subscription.Fifo);
        Assert.Equal(32, subscription.ReceiveBatchSize);
        Assert.Equal(TimeSpan.FromSeconds(20), subscription.LongPollingTimeout.ToTimeSpan());
        Assert.Equal(RetryPolicy.StrategyOneofCase.CustomizedBackoff, reply.Settings.BackoffPolicy.StrategyCase);
        Assert.Equal(TimeSpan.FromSeconds(1), reply.Settings.BackoffPolicy.CustomizedBackoff.Next[0].ToTimeSpan());
        Assert.Equal([client.ClientId], broker.GetClientIds(group));
    }

    [Fact]
    public async Task Settings_without_publishing_or_subscription_end_the_stream_with_INVALID_ARGUMENT()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var settings = client.ProducerSettings();
        settings.ClearPubSub();

        var error = await Assert.ThrowsAsync<RpcException>(() => client.OpenTelemetryAsync(settings));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Killed_telemetry_streams_end_with_UNAVAILABLE_and_settings_are_kept()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        using var stream = (await client.OpenTelemetryAsync(client.ProducerSettings(WireClient.Topic(broker, "t")))).Stream;
        await broker.WaitForTelemetryStreamsAsync(1).WaitAsync(WireClient.SafetyTimeout);

        var killed = broker.Faults.KillTelemetryStreams();
        var error = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(WireClient.SafetyTimeout));
        var heartbeat = await client.Stub.HeartbeatAsync(new HeartbeatRequest { ClientType = ClientType.Producer }, client.Call());

        Assert.Equal(1, killed);
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(Code.Ok, heartbeat.Status.Code);
        Assert.Equal(0, broker.TelemetryStreamCount);
    }

    [Fact]
    public async Task Terminated_client_is_forgotten()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        using var stream = (await client.OpenTelemetryAsync(client.ProducerSettings(WireClient.Topic(broker, "t")))).Stream;

        var goodbye = await client.Stub.NotifyClientTerminationAsync(new NotifyClientTerminationRequest(), client.Call());
        var heartbeat = await client.Stub.HeartbeatAsync(new HeartbeatRequest { ClientType = ClientType.Producer }, client.Call());

        Assert.Equal(Code.Ok, goodbye.Status.Code);
        Assert.Equal(Code.UnrecognizedClientType, heartbeat.Status.Code);
        Assert.Empty(broker.GetClientIds());
    }
}
