using System.Collections.Concurrent;
using System.Text;
using DualCluster.RocketMQ.Remoting;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Transport;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>
/// How a brand-new 4.x consumer group starts, against the loopback with its genuine defaults: the group's retry
/// topic exists only after its first heartbeat, and CONSUME_FROM_LAST_OFFSET reads a young queue from offset 0 but
/// an older one (first message on disk, or min offset above 0) from its max offset.
/// </summary>
public sealed class NewGroupStartTests
{
    [Fact]
    public async Task Name_server_answers_topic_not_exist_for_a_groups_retry_topic_until_a_heartbeat_brings_the_group()
    {
        await using var cluster = await StartLoopbackAsync();
        var group = Unique("G");
        var retryTopic = MessageConst.RetryTopicOf(group);
        await using var nameServer = await RemotingConnection.ConnectAsync(cluster.NameServerAddress, null, SafetyTimeout, default);
        await using var broker = await RemotingConnection.ConnectAsync(cluster.BrokerAddress, null, SafetyTimeout, default);

        var before = await nameServer.InvokeAsync(RouteRequest(retryTopic), SafetyTimeout);
        Assert.Equal(ResponseCode.TopicNotExist, before.Code);

        var heartbeat = await broker.InvokeAsync(RemotingCommand.CreateRequest(RequestCode.HeartBeat, body: HeartbeatBody("127.0.0.1@test#1", group, Unique("T"))), SafetyTimeout);
        Assert.Equal(ResponseCode.Success, heartbeat.Code);

        var after = await nameServer.InvokeAsync(RouteRequest(retryTopic), SafetyTimeout);
        Assert.Equal(ResponseCode.Success, after.Code);
        var route = TopicRoute.Parse(retryTopic, after.Body.Span);
        Assert.Single(route.SubscribeQueues(retryTopic));

        // The dead-letter topic still does not exist: nothing was dead-lettered.
        var dlq = await nameServer.InvokeAsync(RouteRequest(MessageConst.DlqPrefix + group), SafetyTimeout);
        Assert.Equal(ResponseCode.TopicNotExist, dlq.Code);
    }

    [Fact]
    public async Task Name_server_invents_retry_routes_only_when_asked_to()
    {
        await using var cluster = await StartLoopbackAsync(new RemotingLoopbackOptions { InventRetryRoutes = true });
        await using var nameServer = await RemotingConnection.ConnectAsync(cluster.NameServerAddress, null, SafetyTimeout, default);

        var route = await nameServer.InvokeAsync(RouteRequest(MessageConst.RetryTopicOf(Unique("G"))), SafetyTimeout);

        Assert.Equal(ResponseCode.Success, route.Code);
    }

    [Fact]
    public async Task A_brand_new_group_starts_consumes_and_retries_on_a_loopback_with_default_options()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        var group = Unique("G");
        var second = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = (RemotingConsumer)transport.CreateConsumer(new ConsumerSubscription(group, topic), (message, _) =>
        {
            if (message.DeliveryAttempt == 1)
            {
                return ValueTask.FromResult(ConsumeOutcome.Retry());
            }

            second.TrySetResult(message);
            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });

        await consumer.StartAsync();
        Assert.Single(consumer.OwnedQueues(MessageConst.RetryTopicOf(group)));
        var receipt = await transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        var redelivered = await second.Task.WaitAsync(SafetyTimeout);
        await consumer.StopAsync();

        Assert.Equal(receipt.MessageId, redelivered.MessageId);
        Assert.Equal(2, redelivered.DeliveryAttempt);
        Assert.Empty(cluster.Broker.GetDeadLetters(group));
    }

    [Fact]
    public async Task A_new_group_consuming_from_the_last_offset_reads_a_young_queue_from_its_first_message()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        cluster.Broker.CreateTopic(topic, 1);
        var early = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            early.Add((await transport.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"early-{i}")))).MessageId);
        }

        var received = new ConcurrentDictionary<string, byte>();
        var consumer = transport.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), Recording(received));
        await consumer.StartAsync();
        await WaitUntilAsync(() => early.All(received.ContainsKey), "the messages stored before the group existed arrive");
        await consumer.StopAsync();
    }

    [Fact]
    public async Task A_new_group_consuming_from_the_last_offset_starts_at_the_max_offset_once_the_first_message_is_on_disk()
    {
        await using var cluster = await StartLoopbackAsync(new RemotingLoopbackOptions { MessagesInMemoryPerQueue = 2 });
        var (early, late, received) = await StartAfterThreeMessagesAsync(cluster, configure: null);

        Assert.True(received.ContainsKey(late));
        Assert.DoesNotContain(early, received.ContainsKey);
    }

    [Fact]
    public async Task A_new_group_consuming_from_the_last_offset_starts_at_the_max_offset_when_the_min_offset_is_above_zero()
    {
        await using var cluster = await StartLoopbackAsync();
        var (early, late, received) = await StartAfterThreeMessagesAsync(cluster, configure: null, expireBefore: 1);

        Assert.True(received.ContainsKey(late));
        Assert.DoesNotContain(early, received.ContainsKey);
    }

    [Fact]
    public async Task A_new_group_consuming_from_the_first_offset_reads_from_zero_even_when_the_first_message_is_on_disk()
    {
        await using var cluster = await StartLoopbackAsync(new RemotingLoopbackOptions { MessagesInMemoryPerQueue = 2 });
        var (early, late, received) = await StartAfterThreeMessagesAsync(cluster, o => o.Settings["ConsumeFromWhere"] = "First");

        Assert.True(received.ContainsKey(late));
        Assert.All(early, id => Assert.True(received.ContainsKey(id)));
    }

    [Fact]
    public async Task Query_consumer_offset_answers_0_for_a_young_queue_and_not_found_once_its_first_message_is_on_disk()
    {
        await using var cluster = await StartLoopbackAsync(new RemotingLoopbackOptions { MessagesInMemoryPerQueue = 2 });
        await using var transport = NewTransport(cluster.NameServerAddress);
        await using var broker = await RemotingConnection.ConnectAsync(cluster.BrokerAddress, null, SafetyTimeout, default);
        var topic = Unique("T");
        var group = Unique("G");
        cluster.Broker.CreateTopic(topic, 1);

        var empty = await broker.InvokeAsync(QueryOffsetRequest(group, topic), SafetyTimeout);
        await transport.Producer.SendAsync(new OutgoingMessage(topic, "1"u8.ToArray()));
        await transport.Producer.SendAsync(new OutgoingMessage(topic, "2"u8.ToArray()));
        var young = await broker.InvokeAsync(QueryOffsetRequest(group, topic), SafetyTimeout);
        await transport.Producer.SendAsync(new OutgoingMessage(topic, "3"u8.ToArray()));
        var old = await broker.InvokeAsync(QueryOffsetRequest(group, topic), SafetyTimeout);

        Assert.Equal((ResponseCode.Success, 0L), (empty.Code, empty.GetLong("offset")));
        Assert.Equal((ResponseCode.Success, 0L), (young.Code, young.GetLong("offset")));
        Assert.Equal(ResponseCode.QueryNotFound, old.Code);
    }

    /// <summary>
    /// Stores three messages in a one-queue topic, starts a new group, then sends a fourth and waits for it: the
    /// queue is read in order, so if the group had started below the max offset the early ones would have come first.
    /// </summary>
    private static async Task<(List<string> Early, string Late, ConcurrentDictionary<string, byte> Received)> StartAfterThreeMessagesAsync(
        RemotingLoopbackCluster cluster, Action<ClusterOptions>? configure, long expireBefore = 0)
    {
        await using var transport = NewTransport(cluster.NameServerAddress, configure);
        var topic = Unique("T");
        cluster.Broker.CreateTopic(topic, 1);
        var early = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            early.Add((await transport.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"early-{i}")))).MessageId);
        }

        if (expireBefore > 0)
        {
            cluster.ExpireMessages(topic, 0, expireBefore);
        }

        var received = new ConcurrentDictionary<string, byte>();
        var consumer = (RemotingConsumer)transport.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), Recording(received));
        await consumer.StartAsync();
        Assert.Single(consumer.OwnedQueues(topic));
        var late = (await transport.Producer.SendAsync(new OutgoingMessage(topic, "late"u8.ToArray()))).MessageId;
        await WaitUntilAsync(() => received.ContainsKey(late), "the message sent after the start arrives");
        await consumer.StopAsync();
        return (early, late, received);
    }

    private static ClusterMessageHandler Recording(ConcurrentDictionary<string, byte> received) => (message, _) =>
    {
        received[message.MessageId] = 0;
        return ValueTask.FromResult(ConsumeOutcome.Ack);
    };

    private static RemotingCommand RouteRequest(string topic) =>
        RemotingCommand.CreateRequest(RequestCode.GetRouteInfoByTopic).Set("topic", topic).Set("acceptStandardJsonOnly", true);

    private static RemotingCommand QueryOffsetRequest(string group, string topic) =>
        RemotingCommand.CreateRequest(RequestCode.QueryConsumerOffset).Set("consumerGroup", group).Set("topic", topic).Set("queueId", 0);

    internal static byte[] HeartbeatBody(string clientId, string group, string topic) => Encoding.UTF8.GetBytes(
        $$"""
        {"clientID":"{{clientId}}","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"{{group}}","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"{{topic}}"}],"unitMode":false}],"producerDataSet":[]}
        """);
}
