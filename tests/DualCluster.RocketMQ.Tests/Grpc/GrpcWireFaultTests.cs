using System.Collections.Concurrent;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Transport;
using Microsoft.Extensions.Time.Testing;
using Utf8 = System.Text.Encoding;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>Signatures, route refresh and recovery from broken streams and restarts, over HTTP/2 against the loopback 5.x broker.</summary>
public sealed class GrpcWireFaultTests
{
    private static OutgoingMessage Message(string topic, string key) => new(topic, Utf8.UTF8.GetBytes("body of " + key)) { IdempotencyKey = key };

    private static ClusterMessageHandler Recording(ConcurrentDictionary<string, int> seen, Action? onMessage = null) => (m, _) =>
    {
        seen.AddOrUpdate(m.IdempotencyKey ?? m.MessageId, 1, (_, n) => n + 1);
        onMessage?.Invoke();
        return new(ConsumeOutcome.Ack);
    };

    /// <summary>Sends, retrying transient failures (what the producer facade's pipeline does), up to the safety timeout.</summary>
    private static async Task<SendReceipt> SendWithRetriesAsync(IClusterProducer producer, OutgoingMessage message)
    {
        var deadline = DateTime.UtcNow + GrpcWire.SafetyTimeout;
        while (true)
        {
            try
            {
                return await producer.SendAsync(message);
            }
            catch (ClusterTransportException ex) when (ex.IsTransient && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    [Fact]
    public async Task Signed_requests_with_the_right_secret_are_accepted()
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o =>
        {
            o.AccessKey = "ak-1";
            o.SecretKey = "sk-1";
        });
        await using var transport = GrpcWire.Transport(broker);
        var topic = GrpcWire.Topic(broker, "signed");
        var seen = new ConcurrentDictionary<string, int>();
        var consumer = transport.CreateConsumer(new ConsumerSubscription(GrpcWire.Unique("g"), topic), Recording(seen));
        await consumer.StartAsync();

        await transport.Producer.SendAsync(Message(topic, "k1"));

        await GrpcWire.WaitUntilAsync(() => seen.ContainsKey("k1"), "the signed message is consumed");
        await consumer.StopAsync();
    }

    [Theory]
    [InlineData("ak-1", "wrong-secret")]
    [InlineData("someone-else", "sk-1")]
    [InlineData(null, null)]
    public async Task Wrong_or_missing_credentials_are_rejected_as_UNAUTHORIZED_and_not_retried(string? accessKey, string? secretKey)
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o =>
        {
            o.AccessKey = "ak-1";
            o.SecretKey = "sk-1";
        });
        await using var transport = GrpcWire.Transport(broker, configure: o =>
        {
            o.AccessKey = accessKey;
            o.SecretKey = secretKey;
        });

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(async () => await transport.Producer.SendAsync(Message(GrpcWire.Unique("signed"), "k1")));

        Assert.Equal("UNAUTHORIZED", ex.StatusCode);
        Assert.False(ex.IsTransient);
        Assert.Equal(ClusterRole.New, ex.Cluster);
        Assert.Equal(0, broker.Broker.Counters.Stored);
    }

    [Fact]
    public async Task Route_refresh_picks_up_a_queue_added_on_the_broker()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker, time: time);
        var topic = GrpcWire.Topic(broker, "grow");
        await transport.Producer.SendAsync(Message(topic, "before"));
        var queuesBefore = transport.GrpcProducer.CachedRoute(topic)!.Writable.Count;
        var refreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.GrpcProducer.RouteRefreshed += () => refreshed.TrySetResult();

        broker.Broker.AddQueues(topic, 2);
        time.Advance(TimeSpan.FromSeconds(30));
        await refreshed.Task.WaitAsync(GrpcWire.SafetyTimeout);

        Assert.Equal(queuesBefore + 2, transport.GrpcProducer.CachedRoute(topic)!.Writable.Count);
        var queueIds = new HashSet<int>();
        for (var i = 0; i < queuesBefore + 2; i++)
        {
            queueIds.Add(transport.GrpcProducer.CachedRoute(topic)!.Writable[i].Queue.Id);
        }

        Assert.Equal(queuesBefore + 2, queueIds.Count);
        await transport.Producer.SendAsync(Message(topic, "after"));
    }

    [Fact]
    public async Task Telemetry_stream_killed_by_the_broker_is_reopened_and_consumption_continues()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker);
        var topic = GrpcWire.Topic(broker, "telemetry");
        var group = GrpcWire.Unique("g");
        var seen = new ConcurrentDictionary<string, int>();
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic), Recording(seen));
        await consumer.StartAsync();
        await transport.Producer.SendAsync(Message(topic, "before"));
        await GrpcWire.WaitUntilAsync(() => seen.ContainsKey("before"), "the first message is consumed");
        var streams = broker.TelemetryStreamCount;
        var opened = broker.GetCallCount(GrpcLoopbackRpc.Telemetry);

        Assert.True(broker.Faults.KillTelemetryStreams() >= 2, "producer and consumer each hold a Telemetry stream");
        await GrpcWire.WaitUntilAsync(() => broker.GetCallCount(GrpcLoopbackRpc.Telemetry) >= opened + streams, "both clients reopen Telemetry");
        await broker.WaitForTelemetryStreamsAsync(streams).WaitAsync(GrpcWire.SafetyTimeout);

        await transport.Producer.SendAsync(Message(topic, "after"));
        await GrpcWire.WaitUntilAsync(() => seen.ContainsKey("after"), "consumption continues after the reconnect");
        await consumer.StopAsync();
        Assert.Equal(1, seen["before"]);
        Assert.Equal(1, seen["after"]);
    }

    [Fact]
    public async Task Broker_restart_on_the_same_port_loses_nothing()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker);
        var topic = GrpcWire.Topic(broker, "restart");
        var group = GrpcWire.Unique("g");
        var seen = new ConcurrentDictionary<string, int>();
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic) { MaxConcurrency = 4 }, Recording(seen));
        await consumer.StartAsync();
        for (var i = 0; i < 10; i++)
        {
            await transport.Producer.SendAsync(Message(topic, $"m{i}"));
        }

        await GrpcWire.WaitUntilAsync(() => seen.Count >= 3, "some messages are consumed before the restart");
        var port = broker.Port;
        await broker.RestartBrokerAsync();
        Assert.Equal(port, broker.Port);

        for (var i = 10; i < 20; i++)
        {
            await SendWithRetriesAsync(transport.Producer, Message(topic, $"m{i}"));
        }

        await GrpcWire.WaitUntilAsync(() => seen.Count >= 20, "every message sent before and after the restart is consumed");
        await consumer.StopAsync();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}").Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Port_serves_TLS_or_plaintext_not_both_as_a_5_0_0_proxy_does()
    {
        await using var tls = await GrpcWire.StartBrokerAsync(o => o.Tls = true);
        await using var plaintext = await GrpcWire.StartBrokerAsync();
        var (tlsTopic, plainTopic) = (GrpcWire.Topic(tls, "tls"), GrpcWire.Topic(plaintext, "plain"));
        await using var h2cToTls = GrpcWire.Transport(tls, configure: o => o.Tls = false);
        await using var tlsToH2c = GrpcWire.Transport(plaintext, configure: o => (o.Tls, o.AllowInvalidCertificates) = (true, true));

        await Assert.ThrowsAsync<ClusterTransportException>(async () => await h2cToTls.Producer.SendAsync(Message(tlsTopic, "k1")));
        await Assert.ThrowsAsync<ClusterTransportException>(async () => await tlsToH2c.Producer.SendAsync(Message(plainTopic, "k2")));

        Assert.Equal(0, tls.Broker.Counters.Stored + plaintext.Broker.Counters.Stored);
    }

    [Fact]
    public async Task TLS_endpoint_with_a_self_signed_certificate_works_only_with_the_explicit_opt_out()
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o => o.Tls = true);
        var topic = GrpcWire.Topic(broker, "tls");
        Assert.StartsWith("https://", broker.Endpoint, StringComparison.Ordinal);

        await using (var strict = GrpcWire.Transport(broker, configure: o => o.AllowInvalidCertificates = false))
        {
            var ex = await Assert.ThrowsAsync<ClusterTransportException>(async () => await strict.Producer.SendAsync(Message(topic, "refused")));
            Assert.False(ex.IsTransient);
            Assert.Contains("AllowInvalidCertificates", ex.Message, StringComparison.Ordinal);
        }

        await using var lenient = GrpcWire.Transport(broker, configure: o => o.AllowInvalidCertificates = true);
        var seen = new ConcurrentDictionary<string, int>();
        var consumer = lenient.CreateConsumer(new ConsumerSubscription(GrpcWire.Unique("g"), topic), Recording(seen));
        await consumer.StartAsync();
        await lenient.Producer.SendAsync(Message(topic, "over-tls"));
        await GrpcWire.WaitUntilAsync(() => seen.ContainsKey("over-tls"), "the message sent over TLS is consumed");
        await consumer.StopAsync();
        Assert.False(seen.ContainsKey("refused"));
    }
}
