using System.Collections.Concurrent;
using System.Text;
using DualCluster.RocketMQ.Remoting;
using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Transport;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>Producer and consumer against the loopback broker's protocol side (list-backed store).</summary>
public sealed class LoopbackWireTests
{
    [Fact]
    public async Task Sent_messages_arrive_with_body_tag_keys_and_properties()
    {
        await using var servers = await StartLoopbackAsync();
        await using var transport = NewTransport(servers.NameServerAddress);
        var topic = Unique("T");
        var received = new ConcurrentDictionary<string, ReceivedMessage>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), (message, _) =>
        {
            received[message.MessageId] = message;
            if (received.Count == 20)
            {
                all.TrySetResult();
            }

            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();

        var receipts = new List<SendReceipt>();
        for (var i = 0; i < 20; i++)
        {
            var message = new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"body-{i}")) { Tag = "TagA", IdempotencyKey = $"key-{i}" };
            message.Keys.Add($"order-{i}");
            message.Properties["color"] = "blue";
            receipts.Add(await transport.Producer.SendAsync(message));
        }

        await all.Task.WaitAsync(SafetyTimeout);
        await consumer.StopAsync();

        Assert.All(receipts, r => Assert.True(received.ContainsKey(r.MessageId)));
        var first = received[receipts[0].MessageId];
        Assert.Equal("body-0", Encoding.UTF8.GetString(first.Body.Span));
        Assert.Equal(topic, first.Topic);
        Assert.Equal("TagA", first.Tag);
        Assert.Equal(["order-0"], first.Keys);
        Assert.Equal("blue", first.Properties["color"]);
        Assert.Equal("key-0", first.IdempotencyKey);
        Assert.Equal(1, first.DeliveryAttempt);
        Assert.Equal(ClusterRole.Old, first.Cluster);
    }

    [Fact]
    public async Task A_failed_message_comes_back_from_the_retry_topic_with_the_next_attempt()
    {
        await using var servers = await StartLoopbackAsync();
        await using var transport = NewTransport(servers.NameServerAddress);
        var topic = Unique("T");
        var attempts = new ConcurrentQueue<ReceivedMessage>();
        var second = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), (message, _) =>
        {
            attempts.Enqueue(message);
            if (message.DeliveryAttempt == 1)
            {
                return ValueTask.FromResult(ConsumeOutcome.Retry());
            }

            second.TrySetResult(message);
            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();

        var receipt = await transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        var redelivered = await second.Task.WaitAsync(SafetyTimeout);
        await consumer.StopAsync();

        Assert.Equal(receipt.MessageId, redelivered.MessageId);
        Assert.Equal(topic, redelivered.Topic);
        Assert.Equal(2, redelivered.DeliveryAttempt);
    }

    [Fact]
    public async Task The_same_message_sent_twice_keeps_its_unique_key()
    {
        await using var servers = await StartLoopbackAsync();
        await using var transport = NewTransport(servers.NameServerAddress);
        var message = new OutgoingMessage(Unique("T"), "x"u8.ToArray());

        var first = await transport.Producer.SendAsync(message);
        var second = await transport.Producer.SendAsync(message);

        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal(32, first.MessageId.Length);
    }

    [Fact]
    public async Task Signed_requests_pass_and_a_wrong_secret_is_refused_with_a_typed_error()
    {
        await using var servers = await StartLoopbackAsync(new RemotingLoopbackOptions { AccessKey = "rocketmq2", SecretKey = "12345678" });
        await using var good = NewTransport(servers.NameServerAddress, o => { o.AccessKey = "rocketmq2"; o.SecretKey = "12345678"; });
        await using var bad = NewTransport(servers.NameServerAddress, o => { o.AccessKey = "rocketmq2"; o.SecretKey = "wrong"; });
        var topic = Unique("T");

        await good.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        var error = await Assert.ThrowsAsync<ClusterTransportException>(() => bad.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray())).AsTask());

        Assert.Equal("1", error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal(ClusterRole.Old, error.Cluster);
        Assert.Contains("signature", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_acl_refusal_is_sent_once_and_does_not_mark_the_broker_faulty()
    {
        await using var servers = await StartLoopbackAsync(new RemotingLoopbackOptions { AccessKey = "rocketmq2", SecretKey = "12345678" });
        await using var bad = NewTransport(servers.NameServerAddress, o =>
        {
            o.AccessKey = "rocketmq2";
            o.SecretKey = "wrong";
            o.Settings["SendRetries"] = "2";
        });

        var error = await Assert.ThrowsAsync<ClusterTransportException>(() => bad.Producer.SendAsync(new OutgoingMessage(Unique("T"), "x"u8.ToArray())).AsTask());

        Assert.False(error.IsTransient);
        Assert.Equal(1, servers.AclRefusals(RequestCode.SendMessageV2));
        Assert.False(((RemotingProducer)bad.Producer).IsAvoiding(servers.Options.BrokerName));
    }

    [Fact]
    public async Task A_missing_permission_and_a_wrong_secret_read_differently_each_naming_its_fix()
    {
        await using var servers = await StartLoopbackAsync(new RemotingLoopbackOptions { AccessKey = "rocketmq2", SecretKey = "12345678", DefaultTopicPerm = "SUB" });
        await using var subscribeOnly = NewTransport(servers.NameServerAddress, o => { o.AccessKey = "rocketmq2"; o.SecretKey = "12345678"; });
        await using var wrongSecret = NewTransport(servers.NameServerAddress, o => { o.AccessKey = "rocketmq2"; o.SecretKey = "wrong"; });
        var topic = Unique("T");

        var denied = await Assert.ThrowsAsync<ClusterTransportException>(() => subscribeOnly.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray())).AsTask());
        var refused = await Assert.ThrowsAsync<ClusterTransportException>(() => wrongSecret.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray())).AsTask());

        Assert.Contains($"No default permission for topic:{topic}", denied.Message, StringComparison.Ordinal);
        Assert.Contains("grant it PUB", denied.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("check DualCluster:Clusters:Old:AccessKey", denied.Message, StringComparison.Ordinal);
        Assert.Contains("Check signature failed", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("rocketmq2", refused.Message, StringComparison.Ordinal);
        Assert.Contains("check DualCluster:Clusters:Old:AccessKey and SecretKey", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("grant", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_consumer_whose_heartbeat_is_refused_fails_to_start_with_the_refusal_and_its_fix()
    {
        await using var servers = await StartLoopbackAsync(new RemotingLoopbackOptions { AccessKey = "rocketmq2", SecretKey = "12345678", DefaultTopicPerm = "PUB" });
        await using var publishOnly = NewTransport(servers.NameServerAddress, o => { o.AccessKey = "rocketmq2"; o.SecretKey = "12345678"; });
        var topic = Unique("T");
        await publishOnly.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray()));
        var consumer = publishOnly.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), (_, _) => ValueTask.FromResult(ConsumeOutcome.Ack));

        var error = await Assert.ThrowsAsync<ClusterTransportException>(() => consumer.StartAsync());

        Assert.False(error.IsTransient);
        Assert.Contains($"No default permission for topic:{topic}", error.Message, StringComparison.Ordinal);
        Assert.Contains("SUB (to consume)", error.Message, StringComparison.Ordinal);
        await consumer.DisposeAsync();
    }

    [Fact]
    public async Task Unknown_topic_without_auto_create_fails_with_topic_not_exist()
    {
        await using var servers = await StartLoopbackAsync(new RemotingLoopbackOptions { AutoCreateTopics = false });
        await using var transport = NewTransport(servers.NameServerAddress, role: ClusterRole.New);

        var error = await Assert.ThrowsAsync<ClusterTransportException>(() => transport.Producer.SendAsync(new OutgoingMessage(Unique("T"), "x"u8.ToArray())).AsTask());

        Assert.Equal("17", error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal(ClusterRole.New, error.Cluster);
    }

    [Fact]
    public async Task A_busy_broker_is_a_transient_error_and_sends_retry_through_it()
    {
        await using var servers = await StartLoopbackAsync();
        await using var transport = NewTransport(servers.NameServerAddress, o => o.Settings["SendRetries"] = "0");
        var topic = Unique("T");
        await transport.Producer.SendAsync(new OutgoingMessage(topic, "warm"u8.ToArray()));
        servers.Faults.FailNext(RequestCode.SendMessageV2, 1);

        var error = await Assert.ThrowsAsync<ClusterTransportException>(() => transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray())).AsTask());
        Assert.Equal("2", error.StatusCode);
        Assert.True(error.IsTransient);

        await using var retrying = NewTransport(servers.NameServerAddress);
        servers.Faults.FailNext(RequestCode.SendMessageV2, 2);
        var receipt = await retrying.Producer.SendAsync(new OutgoingMessage(topic, "y"u8.ToArray()));
        Assert.True(receipt.Offset >= 0);
    }

    [Fact]
    public async Task A_lost_response_times_out_as_transient_and_the_retry_keeps_the_unique_key()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress, o => { o.RequestTimeout = TimeSpan.FromMilliseconds(300); o.Settings["SendRetries"] = "0"; });
        var topic = Unique("T");
        await transport.Producer.SendAsync(new OutgoingMessage(topic, "warm"u8.ToArray()));
        var message = new OutgoingMessage(topic, "once"u8.ToArray());
        cluster.Broker.Faults.FailNextSendsAfterStoring(1);

        var timeout = await Assert.ThrowsAsync<ClusterTransportException>(() => transport.Producer.SendAsync(message).AsTask());
        var retried = await transport.Producer.SendAsync(message);

        Assert.True(timeout.IsTransient);
        Assert.Null(timeout.StatusCode);
        Assert.Equal(2, cluster.Broker.GetMessages(topic).Count(m => m.MessageId == retried.MessageId)); // stored twice, one id: consumers dedupe
    }

    [Fact]
    public async Task Dropped_connections_are_reopened_on_the_next_send()
    {
        await using var servers = await StartLoopbackAsync();
        await using var transport = NewTransport(servers.NameServerAddress);
        var topic = Unique("T");
        await transport.Producer.SendAsync(new OutgoingMessage(topic, "a"u8.ToArray()));

        servers.Faults.DropConnections();
        var receipt = await transport.Producer.SendAsync(new OutgoingMessage(topic, "b"u8.ToArray()));

        Assert.True(receipt.Offset >= 0);
    }

    [Fact]
    public async Task Large_bodies_are_compressed_on_the_wire_and_arrive_intact()
    {
        await using var servers = await StartLoopbackAsync();
        await using var transport = NewTransport(servers.NameServerAddress);
        var topic = Unique("T");
        var body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("compressible ", 1000)));
        var arrived = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(Unique("G"), topic), (m, _) => { arrived.TrySetResult(m); return ValueTask.FromResult(ConsumeOutcome.Ack); });
        await consumer.StartAsync();

        await transport.Producer.SendAsync(new OutgoingMessage(topic, body));
        var message = await arrived.Task.WaitAsync(SafetyTimeout);
        await consumer.StopAsync();

        Assert.Equal(body, message.Body.ToArray());
    }
}
