using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.RocketMQ.Tests.GrpcLoopback;

public sealed class RoundTripTests
{
    [Fact]
    public async Task Route_points_back_at_the_broker_with_every_field_clients_rely_on()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker) { Namespace = "ns-1" };
        var topic = WireClient.Topic(broker, "route");

        var route = await client.QueryRouteAsync(topic);

        Assert.Equal(Code.Ok, route.Status.Code);
        Assert.Equal(4, route.MessageQueues.Count);
        Assert.Equal([0, 1, 2, 3], route.MessageQueues.Select(q => q.Id));
        foreach (var queue in route.MessageQueues)
        {
            Assert.Equal(topic, queue.Topic.Name);
            Assert.Equal("ns-1", queue.Topic.ResourceNamespace);
            Assert.Equal(Permission.ReadWrite, queue.Permission);
            Assert.Equal("broker-a", queue.Broker.Name);
            Assert.Equal(0, queue.Broker.Id);
            Assert.Equal(AddressScheme.Ipv4, queue.Broker.Endpoints.Scheme);
            var address = Assert.Single(queue.Broker.Endpoints.Addresses);
            Assert.Equal(("127.0.0.1", broker.Port), (address.Host, address.Port));
            Assert.Equal([MessageType.Normal], queue.AcceptMessageTypes); // a topic's type defaults to NORMAL
        }
    }

    [Fact]
    public async Task Sent_message_is_received_with_every_delivery_field_and_acked_once()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var producer = new WireClient(broker);
        using var consumer = new WireClient(broker);
        var topic = WireClient.Topic(broker, "rt");
        var group = WireClient.Unique("g");
        Assert.Equal(Code.Ok, (await producer.QueryRouteAsync(topic)).Status.Code);
        using var telemetry = (await consumer.OpenTelemetryAsync(consumer.ConsumerSettings(group, topic))).Stream;

        var send = await producer.SendAsync(topic, "hello", m =>
        {
            m.SystemProperties.Tag = "TagA";
            m.SystemProperties.Keys.Add("order-1");
            m.UserProperties["DC_IDEMPOTENCY_KEY"] = "key-1";
        });
        var sentId = send.Entries.Single().MessageId;
        var received = await consumer.ReceiveAsync(group, topic, longPolling: TimeSpan.FromSeconds(5));

        Assert.Equal(Code.Ok, send.Status.Code);
        Assert.Equal(Code.Ok, send.Entries.Single().Status.Code);
        Assert.Equal(ReceiveMessageResponse.ContentOneofCase.Status, received.Responses[0].ContentCase);
        Assert.Equal(ReceiveMessageResponse.ContentOneofCase.DeliveryTimestamp, received.Responses[^1].ContentCase);
        Assert.Equal(Code.Ok, received.Status!.Code);
        var message = Assert.Single(received.Messages);
        var system = message.SystemProperties;
        Assert.Equal(topic, message.Topic.Name);
        Assert.Equal("hello", message.Body.ToStringUtf8());
        Assert.Equal(sentId, system.MessageId);
        Assert.Equal(DigestType.Md5, system.BodyDigest.Type);
        Assert.Equal("5D41402ABC4B2A76B9719D911017C592", system.BodyDigest.Checksum); // fact sheet §5.3
        Assert.Equal(Apache.Rocketmq.V2.Encoding.Identity, system.BodyEncoding);
        Assert.Equal(MessageType.Normal, system.MessageType);
        Assert.NotNull(system.BornTimestamp);
        Assert.Equal("testhost", system.BornHost);
        Assert.NotNull(system.StoreTimestamp);
        Assert.False(string.IsNullOrEmpty(system.ReceiptHandle));
        Assert.Equal(1, system.DeliveryAttempt);
        Assert.Equal(send.Entries.Single().Offset, system.QueueOffset);
        Assert.Equal("TagA", system.Tag);
        Assert.Equal(["order-1"], system.Keys);
        Assert.Equal("key-1", message.UserProperties["DC_IDEMPOTENCY_KEY"]);
        Assert.DoesNotContain("__BORNHOST", message.UserProperties.Keys);

        var ack = await consumer.AckAsync(group, topic, message);
        var again = await consumer.AckAsync(group, topic, message);

        Assert.Equal(Code.Ok, ack.Status.Code);
        Assert.Equal(Code.Ok, again.Status.Code); // an ack of an acked, unexpired handle is a no-op (§5.8)
        Assert.Equal(1, broker.Broker.Counters.Acked);
    }

    [Fact]
    public async Task Nack_with_zero_invisibility_redelivers_with_the_next_attempt()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "nack");
        var group = WireClient.Unique("g");
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        await client.SendAsync(topic, "x");
        var first = (await client.ReceiveAsync(group, topic)).Messages.Single();

        await client.Stub.ChangeInvisibleDurationAsync(
            new ChangeInvisibleDurationRequest
            {
                Group = client.Resource(group),
                Topic = client.Resource(topic),
                ReceiptHandle = first.SystemProperties.ReceiptHandle,
                MessageId = first.SystemProperties.MessageId,
                InvisibleDuration = Duration.FromTimeSpan(TimeSpan.Zero),
            },
            client.Call());
        var second = (await client.ReceiveAsync(group, topic)).Messages.Single();

        Assert.Equal(first.SystemProperties.MessageId, second.SystemProperties.MessageId);
        Assert.Equal(2, second.SystemProperties.DeliveryAttempt);
        Assert.NotEqual(first.SystemProperties.ReceiptHandle, second.SystemProperties.ReceiptHandle);
    }

    [Fact]
    public async Task Forwarded_message_lands_in_the_groups_dead_letter_queue()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "dlq");
        var group = WireClient.Unique("g");
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic, ClientType.PushConsumer))).Stream;
        await client.SendAsync(topic, "poison");
        var message = (await client.ReceiveAsync(group, topic)).Messages.Single();

        var forward = await client.Stub.ForwardMessageToDeadLetterQueueAsync(
            new ForwardMessageToDeadLetterQueueRequest
            {
                Group = client.Resource(group),
                Topic = client.Resource(topic),
                ReceiptHandle = message.SystemProperties.ReceiptHandle,
                MessageId = message.SystemProperties.MessageId,
                DeliveryAttempt = 1,
                MaxDeliveryAttempts = 1,
            },
            client.Call());

        Assert.Equal(Code.Ok, forward.Status.Code);
        var dead = Assert.Single(broker.Broker.GetDeadLetters(group));
        Assert.Equal(message.SystemProperties.MessageId, dead.MessageId);
    }

    [Fact]
    public async Task Transaction_message_is_invisible_until_committed()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "tx", type: GrpcLoopbackTopicType.Transaction);
        await client.QueryRouteAsync(topic);

        var send = await client.SendAsync(topic, "half", m => m.SystemProperties.MessageType = MessageType.Transaction);
        var storedBefore = broker.Broker.GetMessages(topic).Count;
        var commit = await client.Stub.EndTransactionAsync(
            new EndTransactionRequest
            {
                Topic = client.Resource(topic),
                MessageId = send.Entries[0].MessageId,
                TransactionId = send.Entries[0].TransactionId,
                Resolution = TransactionResolution.Commit,
            },
            client.Call());

        Assert.False(string.IsNullOrEmpty(send.Entries[0].TransactionId));
        Assert.Equal(0, storedBefore);
        Assert.Equal(Code.Ok, commit.Status.Code);
        Assert.Equal(send.Entries[0].MessageId, Assert.Single(broker.Broker.GetMessages(topic)).MessageId);
    }

    [Fact]
    public async Task Invalid_messages_are_refused_with_the_proxys_codes_and_an_entry_each()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { TopicTypes = { ["fifo-only"] = GrpcLoopbackTopicType.Fifo } });
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "bad");
        broker.Broker.CreateTopic("fifo-only", 4);

        var empty = await client.SendAsync(topic, "");
        var noId = await client.SendAsync(topic, "x", m => m.SystemProperties.MessageId = "");
        var badTag = await client.SendAsync(topic, "x", m => m.SystemProperties.Tag = "a|b");
        var reserved = await client.SendAsync(topic, "x", m => m.UserProperties["UNIQ_KEY"] = "v");
        var longGroup = await client.SendAsync(topic, "x", m => m.SystemProperties.MessageGroup = new string('g', 64));
        var farDelay = await client.SendAsync(topic, "x", m => m.SystemProperties.DeliveryTimestamp = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(2)));
        var wrongType = await client.SendAsync("fifo-only", "x");
        var badTopic = await client.SendAsync("bad topic!", "x");

        Assert.Equal(Code.MessageBodyEmpty, empty.Entries.Single().Status.Code);
        Assert.Equal(Code.IllegalMessageId, noId.Status.Code);
        Assert.Equal(Code.IllegalMessageTag, badTag.Status.Code);
        Assert.Equal(Code.IllegalMessagePropertyKey, reserved.Status.Code);
        Assert.Equal(Code.IllegalMessageGroup, longGroup.Status.Code);
        Assert.Equal(Code.IllegalDeliveryTime, farDelay.Status.Code);
        Assert.Equal(Code.MessagePropertyConflictWithType, wrongType.Status.Code);
        Assert.Equal(Code.IllegalTopic, badTopic.Entries.Single().Status.Code);
        Assert.Empty(broker.Broker.GetMessages(topic));
    }

    [Fact]
    public async Task Orderly_group_gets_no_later_message_while_an_earlier_one_is_in_flight()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var group = WireClient.Unique("g");
        await using var broker = await GrpcLoopbackBroker.StartAsync(
            new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }),
            new GrpcLoopbackOptions { FifoGroups = { group } });
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "fifo", queues: 1, type: GrpcLoopbackTopicType.Fifo);
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic, ClientType.PushConsumer))).Stream;
        foreach (var body in new[] { "first", "second" })
        {
            await client.SendAsync(topic, body, m =>
            {
                m.SystemProperties.MessageGroup = "order-7";
                m.SystemProperties.MessageType = MessageType.Fifo;
            });
        }

        var first = (await client.ReceiveAsync(group, topic, batchSize: 1)).Messages.Single();
        var polling = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Service.LongPollStarted += _ => polling.TrySetResult();
        var blocked = client.ReceiveAsync(group, topic, batchSize: 1, longPolling: TimeSpan.FromSeconds(5));
        await polling.Task.WaitAsync(WireClient.SafetyTimeout);
        time.Advance(TimeSpan.FromSeconds(5));
        var whileInFlight = await blocked.WaitAsync(WireClient.SafetyTimeout);
        await client.AckAsync(group, topic, first);
        var next = (await client.ReceiveAsync(group, topic, batchSize: 1)).Messages.Single();

        Assert.Equal("first", first.Body.ToStringUtf8());
        Assert.Equal("order-7", first.SystemProperties.MessageGroup);
        Assert.Equal(MessageType.Fifo, first.SystemProperties.MessageType);
        Assert.Equal(Code.MessageNotFound, whileInFlight.Status!.Code);
        Assert.Equal("second", next.Body.ToStringUtf8());
    }

    [Fact]
    public async Task Assignments_are_one_any_queue_entry_for_normal_groups_and_every_queue_for_orderly_ones()
    {
        var orderly = WireClient.Unique("fifo");
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(), new GrpcLoopbackOptions { FifoGroups = { orderly } });
        using var client = new WireClient(broker);
        var topic = WireClient.Topic(broker, "t");
        await client.QueryRouteAsync(topic);

        var normal = await client.Stub.QueryAssignmentAsync(new QueryAssignmentRequest { Topic = client.Resource(topic), Group = client.Resource(WireClient.Unique("g")), Endpoints = client.AccessPoint() }, client.Call());
        var fifo = await client.Stub.QueryAssignmentAsync(new QueryAssignmentRequest { Topic = client.Resource(topic), Group = client.Resource(orderly), Endpoints = client.AccessPoint() }, client.Call());

        Assert.Equal(Code.Ok, normal.Status.Code);
        var any = Assert.Single(normal.Assignments).MessageQueue;
        Assert.Equal((-1, Permission.ReadWrite, broker.Port), (any.Id, any.Permission, any.Broker.Endpoints.Addresses[0].Port));
        Assert.Equal([0, 1, 2, 3], fifo.Assignments.Select(a => a.MessageQueue.Id));
    }

    [Fact]
    public async Task Delay_message_is_delivered_when_due_with_its_delivery_timestamp()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t", type: GrpcLoopbackTopicType.Delay), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        var due = time.GetUtcNow().AddSeconds(30);
        await client.SendAsync(topic, "later", m =>
        {
            m.SystemProperties.MessageType = MessageType.Delay;
            m.SystemProperties.DeliveryTimestamp = Timestamp.FromDateTimeOffset(due);
        });
        var polling = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Service.LongPollStarted += _ => polling.TrySetResult();

        var receive = client.ReceiveAsync(group, topic, longPolling: TimeSpan.FromSeconds(20), timeout: TimeSpan.FromSeconds(60));
        await polling.Task.WaitAsync(WireClient.SafetyTimeout);
        time.Advance(TimeSpan.FromSeconds(30));
        var message = (await receive.WaitAsync(WireClient.SafetyTimeout)).Messages.Single();

        Assert.Equal(MessageType.Delay, message.SystemProperties.MessageType);
        Assert.Equal(due, message.SystemProperties.DeliveryTimestamp.ToDateTimeOffset());
    }

    [Fact]
    public async Task Four_MiB_body_goes_through_and_one_byte_more_is_MESSAGE_BODY_TOO_LARGE()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        var body = new byte[4 * 1024 * 1024];
        Random.Shared.NextBytes(body);

        var fits = await client.SendAsync(topic, "", m => m.Body = Google.Protobuf.ByteString.CopyFrom(body));
        var tooBig = await client.SendAsync(topic, "", m => m.Body = Google.Protobuf.ByteString.CopyFrom(new byte[body.Length + 1]));
        var received = (await client.ReceiveAsync(group, topic)).Messages.Single();

        Assert.Equal(Code.Ok, fits.Status.Code);
        Assert.Equal(Code.MessageBodyTooLarge, tooBig.Status.Code);
        Assert.True(received.Body.Span.SequenceEqual(body));
    }
}
