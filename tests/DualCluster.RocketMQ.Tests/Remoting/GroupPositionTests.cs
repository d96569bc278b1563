using System.Text.Json;
using DualCluster.RocketMQ.Remoting;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Transport;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>
/// What a 4.x cluster proves about a group's position, over real TCP against the loopback: the consumer's
/// <see cref="IClusterConsumer.IsPositioned"/> (offsets of every assigned queue queried or committed) and the transport's
/// <see cref="IConsumerGroupProbe"/> (QUERY_TOPIC_CONSUME_BY_WHO and QUERY_CONSUMER_OFFSET on the topic's masters).
/// </summary>
public sealed class GroupPositionTests
{
    private static readonly ClusterMessageHandler Ack = (_, _) => ValueTask.FromResult(ConsumeOutcome.Ack);

    [Fact]
    public async Task A_consumer_is_not_positioned_before_its_queues_are_assigned_and_stays_positioned_after_stop()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = NewTopic(cluster, 2);
        var consumer = (RemotingConsumer)transport.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), Ack);
        Assert.False(consumer.IsPositioned);

        // The consumer list is refused, so the rebalance assigns nothing: registered, but no queue and no position.
        cluster.Faults.FailNext(RequestCode.GetConsumerListByGroup, int.MaxValue);
        await consumer.StartAsync();
        Assert.Empty(consumer.OwnedQueues(topic));
        Assert.False(consumer.IsPositioned);

        cluster.Faults.Reset();
        await WaitUntilAsync(() => consumer.IsPositioned, "the next rebalance assigns the queues and learns their offsets");
        Assert.Equal(2, consumer.OwnedQueues(topic).Count);

        await consumer.StopAsync();
        Assert.True(consumer.IsPositioned);
    }

    [Fact]
    public async Task A_brand_new_group_consuming_from_the_last_offset_is_positioned_by_committing_its_start_without_any_message_sent()
    {
        // Every stored message counts as on disk, so the broker answers QUERY_NOT_FOUND for the new group (no young-queue 0).
        await using var cluster = await StartLoopbackAsync(new RemotingLoopbackOptions { MessagesInMemoryPerQueue = 0 });
        var topic = SeedEveryQueue(cluster, queues: 2, perQueue: 3);
        // No periodic persist during the test: only the start commit can position the group.
        await using var transport = NewTransport(cluster.NameServerAddress, o => o.Settings["OffsetPersistInterval"] = "01:00:00");
        var group = Unique("G");
        var delivered = 0;
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic), (_, _) =>
        {
            Interlocked.Increment(ref delivered);
            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });
        Assert.False(await transport.GroupProbe.HasPositionAsync(group, topic).AsTask().WaitAsync(SafetyTimeout));

        await consumer.StartAsync();
        await WaitUntilAsync(() => consumer.IsPositioned, "the start offsets are committed");

        Assert.True(await transport.GroupProbe.HasPositionAsync(group, topic).AsTask().WaitAsync(SafetyTimeout));
        await using (var broker = await RemotingConnection.ConnectAsync(cluster.BrokerAddress, null, SafetyTimeout, default))
        {
            for (var queueId = 0; queueId < 2; queueId++)
            {
                var answer = await broker.InvokeAsync(QueryOffset(group, topic, queueId), SafetyTimeout);
                Assert.Equal(ResponseCode.Success, answer.Code);
                Assert.Equal(3, answer.GetLong("offset")); // The max offset: CONSUME_FROM_LAST_OFFSET skips the stored ones.
            }
        }

        await consumer.StopAsync();
        Assert.Equal(0, Volatile.Read(ref delivered));
        Assert.True(consumer.IsPositioned);
    }

    [Fact]
    public async Task A_brand_new_group_on_an_empty_topic_is_positioned_by_the_brokers_answer_without_any_message_sent()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = NewTopic(cluster, 4);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), Ack);

        await consumer.StartAsync();
        await WaitUntilAsync(() => consumer.IsPositioned, "every queue's offset is answered");
        await consumer.StopAsync();

        Assert.True(consumer.IsPositioned);
    }

    [Fact]
    public async Task The_probe_reports_a_consuming_group_and_a_stopped_group_with_offsets_but_not_an_unrelated_group()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = NewTopic(cluster, 2);
        var otherTopic = NewTopic(cluster, 2);
        var (live, past, unrelated) = (Unique("Live"), Unique("Past"), Unique("Other"));
        var liveConsumer = transport.CreateConsumer(new ConsumerSubscription(live, topic), Ack);
        var pastConsumer = transport.CreateConsumer(new ConsumerSubscription(past, topic), Ack);
        var unrelatedConsumer = transport.CreateConsumer(new ConsumerSubscription(unrelated, otherTopic), Ack);
        foreach (var consumer in new[] { liveConsumer, pastConsumer, unrelatedConsumer })
        {
            await consumer.StartAsync();
        }

        // The stopped group commits its offsets as it stops, then unregisters: the broker keeps only its offsets.
        await pastConsumer.StopAsync();
        await WaitUntilAsync(() => cluster.GetConsumerIds(past).Count == 0, "the stopped group has no live member");

        var groups = await transport.GroupProbe.GetConsumerGroupsAsync(topic).AsTask().WaitAsync(SafetyTimeout);
        Assert.Contains(live, groups);
        Assert.Contains(past, groups);
        Assert.DoesNotContain(unrelated, groups);
        Assert.Empty(await transport.GroupProbe.GetConsumerGroupsAsync(Unique("Nobody")).AsTask().WaitAsync(SafetyTimeout));

        await liveConsumer.StopAsync();
        await unrelatedConsumer.StopAsync();
    }

    [Fact]
    public async Task Query_topic_consume_by_who_answers_a_group_list_of_subscribers_and_offset_holders()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var broker = await RemotingConnection.ConnectAsync(cluster.BrokerAddress, null, SafetyTimeout, default);
        var topic = NewTopic(cluster, 1);
        var group = Unique("G");

        var none = await broker.InvokeAsync(ConsumeByWho(topic), SafetyTimeout);
        Assert.Equal(ResponseCode.Success, none.Code);
        Assert.Equal("""{"groupList":[]}""", System.Text.Encoding.UTF8.GetString(none.Body.Span));

        var commit = await broker.InvokeAsync(QueueOffsets.CommitRequest(group, new MessageQueue(topic, "broker-a", 0), 0), SafetyTimeout);
        Assert.Equal(ResponseCode.Success, commit.Code);
        var some = await broker.InvokeAsync(ConsumeByWho(topic), SafetyTimeout);
        Assert.Equal([group], RemotingGroupProbe.ParseGroupList(some.Body.Span));
    }

    [Fact]
    public async Task Has_position_is_false_without_offsets_and_true_once_the_group_committed_on_every_queue()
    {
        await using var cluster = await StartLoopbackAsync(new RemotingLoopbackOptions { MessagesInMemoryPerQueue = 0 });
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = SeedEveryQueue(cluster, queues: 3, perQueue: 1);
        var group = Unique("G");
        await using var broker = await RemotingConnection.ConnectAsync(cluster.BrokerAddress, null, SafetyTimeout, default);

        Assert.False(await transport.GroupProbe.HasPositionAsync(group, topic).AsTask().WaitAsync(SafetyTimeout));
        for (var queueId = 0; queueId < 3; queueId++)
        {
            var commit = await broker.InvokeAsync(QueueOffsets.CommitRequest(group, new MessageQueue(topic, cluster.Options.BrokerName, queueId), 1), SafetyTimeout);
            Assert.Equal(ResponseCode.Success, commit.Code);
            var expected = queueId == 2;
            Assert.Equal(expected, await transport.GroupProbe.HasPositionAsync(group, topic).AsTask().WaitAsync(SafetyTimeout));
        }

        Assert.False(await transport.GroupProbe.HasPositionAsync(Unique("G"), topic).AsTask().WaitAsync(SafetyTimeout));
    }

    [Fact]
    public async Task Has_position_takes_the_brokers_zero_for_a_young_queue_as_a_position_like_a_genuine_broker()
    {
        // ConsumerManageProcessor.queryConsumerOffset answers offset 0 for any group while the queue's first message is
        // not on disk: a group connecting now would start there and read every message sent from now on.
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = NewTopic(cluster, 2);

        Assert.True(await transport.GroupProbe.HasPositionAsync(Unique("G"), topic).AsTask().WaitAsync(SafetyTimeout));
    }

    [Fact]
    public async Task The_probe_throws_a_transport_exception_when_the_broker_is_down()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = NewTopic(cluster, 2);
        await cluster.StopBrokerAsync();

        await Assert.ThrowsAsync<ClusterTransportException>(() => transport.GroupProbe.GetConsumerGroupsAsync(topic).AsTask().WaitAsync(SafetyTimeout));
        await Assert.ThrowsAsync<ClusterTransportException>(() => transport.GroupProbe.HasPositionAsync(Unique("G"), topic).AsTask().WaitAsync(SafetyTimeout));
    }

    [Fact]
    public void The_group_list_body_parses_as_fastjson_writes_it()
    {
        Assert.Equal(["a", "b"], RemotingGroupProbe.ParseGroupList("""{"groupList":["a","b"]}"""u8));
        Assert.Empty(RemotingGroupProbe.ParseGroupList("""{"groupList":[]}"""u8));
        Assert.Empty(RemotingGroupProbe.ParseGroupList(default));
        Assert.Equal(["x"], RemotingGroupProbe.ParseGroupList(JsonSerializer.SerializeToUtf8Bytes(new { other = new[] { "y" }, groupList = new[] { "x" } })));
    }

    private static string NewTopic(RemotingLoopbackCluster cluster, int queues)
    {
        var topic = Unique("T");
        cluster.Broker.CreateTopic(topic, queues);
        return topic;
    }

    /// <summary>A new topic with <paramref name="perQueue"/> messages stored in each of its queues before any group exists.</summary>
    private static string SeedEveryQueue(RemotingLoopbackCluster cluster, int queues, int perQueue)
    {
        var topic = NewTopic(cluster, queues);
        for (var queueId = 0; queueId < queues; queueId++)
        {
            for (var i = 0; i < perQueue; i++)
            {
                cluster.Broker.Send(new OutgoingMessage(topic, "old"u8.ToArray()), queueId: queueId);
            }
        }

        return topic;
    }

    private static RemotingCommand QueryOffset(string group, string topic, int queueId) =>
        RemotingCommand.CreateRequest(RequestCode.QueryConsumerOffset).Set("consumerGroup", group).Set("topic", topic).Set("queueId", queueId);

    private static RemotingCommand ConsumeByWho(string topic) =>
        RemotingCommand.CreateRequest(RequestCode.QueryTopicConsumeByWho).Set("topic", topic);
}
