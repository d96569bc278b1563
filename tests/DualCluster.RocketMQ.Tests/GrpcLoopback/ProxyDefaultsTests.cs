using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.RocketMQ.Tests.GrpcLoopback;

/// <summary>
/// Defaults of the loopback that must be what an Apache RocketMQ 5.x proxy does by default (issue 11): topics are not
/// created on demand, receipt handles behave as pop checkpoints, and the consumer settings carry the proxy's values.
/// </summary>
public sealed class ProxyDefaultsTests
{
    [Fact]
    public async Task Route_send_and_receive_of_an_unknown_topic_are_TOPIC_NOT_FOUND_and_create_nothing()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Unique("t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;

        var route = await client.QueryRouteAsync(topic);
        var send = await client.SendAsync(topic, "x");
        var receive = await client.ReceiveAsync(group, topic);

        Assert.Equal(Code.TopicNotFound, route.Status.Code);
        Assert.Equal(Code.TopicNotFound, send.Status.Code);
        Assert.Equal(Code.TopicNotFound, Assert.Single(send.Entries).Status.Code);
        Assert.Equal(Code.TopicNotFound, receive.Status!.Code);
        Assert.False(broker.Broker.TopicExists(topic));
        Assert.Equal(0, broker.Broker.Counters.Stored);
    }

    [Fact]
    public async Task AutoCreateTopics_is_an_explicit_option_that_creates_the_topic_on_first_use()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { AutoCreateTopics = true, DefaultQueueCount = 2 });
        using var client = new WireClient(broker);
        var topic = WireClient.Unique("t");

        var send = await client.SendAsync(topic, "x");

        Assert.False(new GrpcLoopbackOptions().AutoCreateTopics);
        Assert.Equal(Code.Ok, send.Status.Code);
        Assert.Equal(2, broker.Broker.GetQueueCount(topic));
    }

    [Fact]
    public async Task Topic_is_NORMAL_by_default_so_its_route_accepts_only_NORMAL_and_other_types_are_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Unique("t");
        broker.Broker.CreateTopic(topic, 2); // created without a message type, as mqadmin updateTopic without attributes
        var fifoTopic = WireClient.Topic(broker, "fifo", type: GrpcLoopbackTopicType.Fifo);

        var route = await client.QueryRouteAsync(topic);
        var normal = await client.SendAsync(topic, "n");
        var fifo = await client.SendAsync(topic, "f", m =>
        {
            m.SystemProperties.MessageType = MessageType.Fifo;
            m.SystemProperties.MessageGroup = "order-1";
        });
        var undeclaredFifo = await client.SendAsync(topic, "f", m => m.SystemProperties.MessageGroup = "order-1");
        var delay = await client.SendAsync(topic, "d", m =>
        {
            m.SystemProperties.MessageType = MessageType.Delay;
            m.SystemProperties.DeliveryTimestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1));
        });
        var transaction = await client.SendAsync(topic, "t", m => m.SystemProperties.MessageType = MessageType.Transaction);
        var fifoRoute = await client.QueryRouteAsync(fifoTopic);
        var fifoOnFifo = await client.SendAsync(fifoTopic, "f", m => m.SystemProperties.MessageGroup = "order-1");
        var normalOnFifo = await client.SendAsync(fifoTopic, "n");

        Assert.All(route.MessageQueues, q => Assert.Equal([MessageType.Normal], q.AcceptMessageTypes));
        Assert.Equal(Code.Ok, normal.Status.Code);
        Assert.Equal(Code.MessagePropertyConflictWithType, fifo.Status.Code);
        Assert.Equal(Code.MessagePropertyConflictWithType, undeclaredFifo.Status.Code);
        Assert.Equal(Code.MessagePropertyConflictWithType, delay.Status.Code);
        Assert.Equal(Code.MessagePropertyConflictWithType, transaction.Status.Code);
        Assert.All(fifoRoute.MessageQueues, q => Assert.Equal([MessageType.Fifo], q.AcceptMessageTypes));
        Assert.Equal(Code.Ok, fifoOnFifo.Status.Code);
        Assert.Equal(Code.MessagePropertyConflictWithType, normalOnFifo.Status.Code);
        Assert.Equal(GrpcLoopbackTopicType.Normal, new GrpcLoopbackOptions().DefaultTopicType);
    }

    [Fact]
    public async Task Ack_with_the_handle_from_before_ChangeInvisibleDuration_answers_OK_but_the_message_comes_back_after_the_new_invisible_time()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        await client.SendAsync(topic, "x");
        var message = (await client.ReceiveAsync(group, topic, invisible: TimeSpan.FromSeconds(30))).Messages.Single();
        var original = message.SystemProperties.ReceiptHandle;

        var change = await ChangeInvisibleAsync(client, group, topic, message, original, TimeSpan.FromSeconds(60));
        var ack = await client.AckAsync(group, topic, message, original);
        time.Advance(TimeSpan.FromSeconds(61));
        var again = (await client.ReceiveAsync(group, topic)).Messages.Single();

        Assert.Equal(Code.Ok, change.Status.Code);
        Assert.NotEqual(original, change.ReceiptHandle);
        Assert.Equal(Code.Ok, ack.Status.Code);
        Assert.Equal(message.SystemProperties.MessageId, again.SystemProperties.MessageId);
        Assert.Equal(2, again.SystemProperties.DeliveryAttempt);
    }

    [Fact]
    public async Task Ack_with_the_handle_ChangeInvisibleDuration_returned_settles_the_message()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        await client.SendAsync(topic, "x");
        var message = (await client.ReceiveAsync(group, topic, invisible: TimeSpan.FromSeconds(30))).Messages.Single();

        var change = await ChangeInvisibleAsync(client, group, topic, message, message.SystemProperties.ReceiptHandle, TimeSpan.FromSeconds(60));
        var ack = await client.AckAsync(group, topic, message, change.ReceiptHandle);
        time.Advance(TimeSpan.FromSeconds(61));

        Assert.Equal(Code.Ok, ack.Status.Code);
        Assert.Equal(0, broker.Broker.GetBacklog(group, topic).InFlight);
        Assert.Equal(0, broker.Broker.GetBacklog(group, topic).Retry);
    }

    [Fact]
    public async Task Second_ack_of_an_unexpired_handle_answers_OK_and_an_expired_handle_is_INVALID_RECEIPT_HANDLE()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        await client.SendAsync(topic, "x");
        var message = (await client.ReceiveAsync(group, topic, invisible: TimeSpan.FromSeconds(30))).Messages.Single();

        var first = await client.AckAsync(group, topic, message);
        var second = await client.AckAsync(group, topic, message);
        time.Advance(TimeSpan.FromSeconds(31));
        var expired = await client.AckAsync(group, topic, message);

        Assert.Equal(Code.Ok, first.Status.Code);
        Assert.Equal(Code.Ok, second.Status.Code);
        Assert.Equal(Code.Ok, Assert.Single(second.Entries).Status.Code);
        Assert.Equal(Code.InvalidReceiptHandle, expired.Status.Code);
        Assert.Equal(1, broker.Broker.Counters.Acked);
    }

    [Fact]
    public async Task Consumer_settings_say_seventeen_attempts_and_the_proxys_long_polling_timeout_even_to_a_simple_consumer()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var settings = client.ConsumerSettings(WireClient.Unique("g"), WireClient.Topic(broker));
        settings.Subscription.LongPollingTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(7));

        var (stream, reply) = await client.OpenTelemetryAsync(settings);
        using (stream)
        {
            Assert.Equal(Code.Ok, reply.Status.Code);
            Assert.Equal(17, reply.Settings.BackoffPolicy.MaxAttempts);
            Assert.Equal(TimeSpan.FromSeconds(20), reply.Settings.Subscription.LongPollingTimeout.ToTimeSpan());
        }
    }

    [Fact]
    public async Task Message_is_delivered_retryMaxTimes_plus_one_times_then_dead_lettered()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { ConsumerRetryMaxTimes = 2 });
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker), WireClient.Unique("g"));
        var (stream, reply) = await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic));
        using var telemetry = stream;
        await client.SendAsync(topic, "poison");

        var attempts = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            var message = (await client.ReceiveAsync(group, topic)).Messages.Single();
            attempts.Add(message.SystemProperties.DeliveryAttempt);
            await ChangeInvisibleAsync(client, group, topic, message, message.SystemProperties.ReceiptHandle, TimeSpan.Zero);
        }

        Assert.Equal(3, reply.Settings.BackoffPolicy.MaxAttempts);
        Assert.Equal([1, 2, 3], attempts);
        Assert.Equal("poison", System.Text.Encoding.UTF8.GetString(Assert.Single(broker.Broker.GetDeadLetters(group)).Body.Span));
    }

    [Fact]
    public async Task Delivered_message_carries_no_invisible_duration_and_an_opaque_handle()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        await client.SendAsync(topic, "x");

        var message = (await client.ReceiveAsync(group, topic, invisible: TimeSpan.FromSeconds(30))).Messages.Single();

        Assert.Null(message.SystemProperties.InvisibleDuration);
        Assert.False(message.SystemProperties.ReceiptHandle.StartsWith("rh-", StringComparison.Ordinal));
        Assert.Contains(' ', message.SystemProperties.ReceiptHandle);
    }

    [Fact]
    public async Task GetOffset_and_QueryOffset_are_UNIMPLEMENTED_by_default_as_on_every_Apache_proxy()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var queue = new MessageQueue { Topic = client.Resource(WireClient.Topic(broker)), Id = 0, Permission = Permission.ReadWrite };

        var get = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.Stub.GetOffsetAsync(new GetOffsetRequest { Group = client.Resource(WireClient.Unique("g")), MessageQueue = queue }, client.Call()));
        var query = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.Stub.QueryOffsetAsync(new QueryOffsetRequest { MessageQueue = queue, QueryOffsetPolicy = QueryOffsetPolicy.End }, client.Call()));

        Assert.Equal(StatusCode.Unimplemented, get.StatusCode);
        Assert.Equal(StatusCode.Unimplemented, query.StatusCode);
    }

    [Fact]
    public async Task Served_offsets_answer_committed_beginning_end_and_timestamp_offsets_from_the_broker()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { ServeGetOffset = true, ServeQueryOffset = true });
        using var client = new WireClient(broker);
        var (topic, group, stranger) = (WireClient.Topic(broker, queues: 1), WireClient.Unique("g"), WireClient.Unique("g"));
        broker.Broker.Subscribe(group, topic);
        await client.SendAsync(topic, "a");
        await client.SendAsync(topic, "b");
        Assert.Single(broker.Broker.Receive(group, topic, 1, TimeSpan.FromSeconds(30)));
        var queue = new MessageQueue { Topic = client.Resource(topic), Id = 0, Permission = Permission.ReadWrite };

        async Task<QueryOffsetResponse> QueryAsync(QueryOffsetPolicy policy, DateTimeOffset? at = null) =>
            await client.Stub.QueryOffsetAsync(
                new QueryOffsetRequest { MessageQueue = queue, QueryOffsetPolicy = policy, Timestamp = at is { } t ? Timestamp.FromDateTimeOffset(t) : null },
                client.Call());

        var committed = await client.Stub.GetOffsetAsync(new GetOffsetRequest { Group = client.Resource(group), MessageQueue = queue }, client.Call());
        var none = await client.Stub.GetOffsetAsync(new GetOffsetRequest { Group = client.Resource(stranger), MessageQueue = queue }, client.Call());
        var beginning = await QueryAsync(QueryOffsetPolicy.Beginning);
        var end = await QueryAsync(QueryOffsetPolicy.End);
        var future = await QueryAsync(QueryOffsetPolicy.Timestamp, DateTimeOffset.UtcNow.AddHours(1));

        Assert.Equal((Code.Ok, 1L), (committed.Status.Code, committed.Offset));
        Assert.Equal(Code.OffsetNotFound, none.Status.Code);
        Assert.Equal((Code.Ok, 0L), (beginning.Status.Code, beginning.Offset));
        Assert.Equal((Code.Ok, 2L), (end.Status.Code, end.Offset));
        Assert.Equal((Code.Ok, 2L), (future.Status.Code, future.Offset));
    }

    private static async Task<ChangeInvisibleDurationResponse> ChangeInvisibleAsync(WireClient client, string group, string topic, Message message, string handle, TimeSpan duration) =>
        await client.Stub.ChangeInvisibleDurationAsync(
            new ChangeInvisibleDurationRequest
            {
                Group = client.Resource(group),
                Topic = client.Resource(topic),
                ReceiptHandle = handle,
                MessageId = message.SystemProperties.MessageId,
                InvisibleDuration = Duration.FromTimeSpan(duration),
            },
            client.Call());
}
