using Utf8 = System.Text.Encoding;
using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Grpc;
using DualCluster.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RmqStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>What the client does on the wire, observed through a scripted, recording server over real HTTP/2.</summary>
public sealed class ClientBehaviourTests
{
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);

    private static GrpcClusterTransport Transport(ScriptedBroker broker, TimeProvider? time = null, Action<ClusterOptions>? configure = null)
    {
        var options = new ClusterOptions
        {
            Protocol = "Grpc",
            Endpoint = broker.Endpoint,
            RequestTimeout = TimeSpan.FromSeconds(5),
            Settings = { ["TelemetryReconnectDelay"] = "00:00:00.100" },
        };
        configure?.Invoke(options);
        return new GrpcClusterTransport(GrpcTransportOptions.From(ClusterRole.New, options), time ?? TimeProvider.System, NullLoggerFactory.Instance);
    }

    private static OutgoingMessage Message(string body, string topic = "orders") => new(topic, Utf8.UTF8.GetBytes(body));

    private static int IndexOf(IReadOnlyList<ScriptedBroker.Call> calls, string method) =>
        calls.Select((c, i) => (c, i)).First(x => x.c.Method == method).i;

    [Fact]
    public async Task Producer_queries_the_route_then_sends_settings_on_Telemetry_then_sends_signed_requests()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        await using var transport = Transport(broker, configure: o =>
        {
            o.AccessKey = "myAk";
            o.SecretKey = "mySecret";
            o.Namespace = "ns1";
        });
        var message = Message("hello");
        message.IdempotencyKey = "k1";
        message.Tag = "created";
        message.Keys.Add("order-1");

        var receipt = await transport.Producer.SendAsync(message);

        var calls = broker.Calls;
        Assert.Equal(["QueryRoute", "Telemetry", "SendMessage"], calls.Select(c => c.Method).Take(3));
        var settings = calls[1].As<TelemetryCommand>().Settings;
        Assert.Equal(ClientType.Producer, settings.ClientType);
        Assert.Contains(settings.Publishing.Topics, t => t.Name == "orders" && t.ResourceNamespace == "ns1");
        Assert.Equal(broker.Port, settings.AccessPoint.Addresses[0].Port);

        var sent = calls[2].As<SendMessageRequest>().Messages.Single();
        Assert.Equal(receipt.MessageId, sent.SystemProperties.MessageId);
        Assert.Matches("^01[0-9A-F]{32}$", sent.SystemProperties.MessageId);
        Assert.Equal(MessageType.Normal, sent.SystemProperties.MessageType);
        Assert.Equal(Apache.Rocketmq.V2.Encoding.Identity, sent.SystemProperties.BodyEncoding);
        Assert.Equal("created", sent.SystemProperties.Tag);
        Assert.Equal(["order-1"], sent.SystemProperties.Keys);
        Assert.Equal("k1", sent.UserProperties[MessageProperties.IdempotencyKey]);
        Assert.Equal("ns1", sent.Topic.ResourceNamespace);
        Assert.Equal(7, receipt.Offset);

        var clientId = calls[0].Headers["x-mq-client-id"];
        foreach (var call in calls)
        {
            Assert.Equal(clientId, call.Headers["x-mq-client-id"]);
            Assert.Equal("DOTNET", call.Headers["x-mq-language"]);
            Assert.Equal("ns1", call.Headers["x-mq-namespace"]);
            Assert.True(RequestSignature.TryParse(call.Headers["authorization"], out var ak, out var signature));
            Assert.Equal("myAk", ak);
            Assert.True(RequestSignature.Verify("mySecret", call.Headers["x-mq-date-time"], signature));
        }
    }

    [Fact]
    public async Task Server_settings_override_the_body_limit()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        broker.ServerSettings = s => s.Publishing = new Publishing { MaxBodySize = 8, ValidateMessageType = true };
        await using var transport = Transport(broker);

        await transport.Producer.SendAsync(Message("12345678"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await transport.Producer.SendAsync(Message("123456789")));
        Assert.Single(broker.CallsOf("SendMessage"));
    }

    [Fact]
    public async Task Heartbeat_runs_every_10_seconds_and_route_refresh_every_30_seconds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await ScriptedBroker.StartAsync();
        await using var transport = Transport(broker, time);
        await transport.Producer.SendAsync(Message("start"));
        Assert.Empty(broker.CallsOf("Heartbeat"));

        time.Advance(TimeSpan.FromSeconds(10));
        await broker.WaitForAsync(c => c.Any(x => x.Method == "Heartbeat"));
        Assert.Single(broker.CallsOf("QueryRoute"));

        time.Advance(TimeSpan.FromSeconds(10));
        await broker.WaitForAsync(c => c.Count(x => x.Method == "Heartbeat") >= 2);
        time.Advance(TimeSpan.FromSeconds(10));
        await broker.WaitForAsync(c => c.Count(x => x.Method == "QueryRoute") >= 2 && c.Count(x => x.Method == "Heartbeat") >= 3);
        Assert.All(broker.CallsOf("Heartbeat"), c => Assert.Equal(ClientType.Producer, c.As<HeartbeatRequest>().ClientType));
    }

    [Fact]
    public async Task Route_refresh_picks_up_a_queue_added_on_the_broker()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await ScriptedBroker.StartAsync();
        await using var transport = Transport(broker, time);
        await transport.Producer.SendAsync(Message("start"));
        var refreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.GrpcProducer.RouteRefreshed += () => refreshed.TrySetResult();

        broker.QueuesPerBroker = 3;
        time.Advance(TimeSpan.FromSeconds(30));
        await refreshed.Task.WaitAsync(Safety);
        for (var i = 0; i < 6; i++)
        {
            await transport.Producer.SendAsync(Message($"m{i}"));
        }

        var queues = broker.CallsOf("SendMessage").Skip(1).Select(c => c.As<SendMessageRequest>().Messages[0].SystemProperties.QueueId).ToHashSet();
        Assert.Equal([0, 1, 2], queues.Order());
    }

    [Fact]
    public async Task Telemetry_stream_ended_by_the_server_is_reopened_and_settings_are_sent_again()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        await using var transport = Transport(broker);
        await transport.Producer.SendAsync(Message("start"));

        broker.KillTelemetry();
        await broker.WaitForAsync(c => c.Count(x => x.Method == "Telemetry" && x.As<TelemetryCommand>().Settings is not null) >= 2);

        Assert.Equal(2, transport.GrpcProducer.TelemetryConnections);
        await transport.Producer.SendAsync(Message("after"));
    }

    [Fact]
    public async Task Failing_broker_is_isolated_and_the_same_message_id_is_retried_on_another_broker()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = await ScriptedBroker.StartAsync("broker-a");
        await using var b = await ScriptedBroker.StartAsync("broker-b");
        a.RouteBrokers.AddRange([a, b]);
        a.QueuesPerBroker = 1;
        a.SendStatus = _ => new RmqStatus { Code = Code.InternalServerError, Message = "disk full" };
        await using var transport = Transport(a, time);

        var receipts = new List<SendReceipt>();
        for (var i = 0; i < 4; i++)
        {
            receipts.Add(await transport.Producer.SendAsync(Message($"m{i}")));
        }

        // Each broker got its own Telemetry stream with settings before any send.
        Assert.True(IndexOf(b.Calls, "Telemetry") < IndexOf(b.Calls, "SendMessage"));
        var failed = Assert.Single(a.CallsOf("SendMessage")).As<SendMessageRequest>().Messages[0].SystemProperties.MessageId;
        var onB = b.CallsOf("SendMessage").Select(c => c.As<SendMessageRequest>().Messages[0].SystemProperties.MessageId).ToList();
        Assert.Equal(4, onB.Count);
        Assert.Contains(failed, onB);
        Assert.Equal(receipts.Select(r => r.MessageId).Order(StringComparer.Ordinal), onB.Order(StringComparer.Ordinal));
        Assert.Contains("127.0.0.1:" + a.Port, transport.GrpcProducer.IsolatedEndpoints);

        // A successful heartbeat ends the isolation.
        a.SendStatus = _ => null;
        time.Advance(TimeSpan.FromSeconds(10));
        await a.WaitForAsync(c => c.Any(x => x.Method == "Heartbeat"));
        await b.WaitForAsync(c => c.Any(x => x.Method == "Heartbeat"));
        Assert.Empty(transport.GrpcProducer.IsolatedEndpoints);
        for (var i = 0; i < 2; i++)
        {
            await transport.Producer.SendAsync(Message($"n{i}"));
        }

        Assert.Equal(2, a.CallsOf("SendMessage").Count());
    }

    [Fact]
    public async Task Telemetry_to_a_broker_that_left_the_route_is_closed_at_the_next_refresh()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = await ScriptedBroker.StartAsync("broker-a");
        await using var b = await ScriptedBroker.StartAsync("broker-b");
        a.RouteBrokers.AddRange([a, b]);
        await using var transport = Transport(a, time);
        await transport.Producer.SendAsync(Message("start"));
        Assert.Equal(1, b.OpenTelemetryStreams);
        var refreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.GrpcProducer.RouteRefreshed += () => refreshed.TrySetResult();

        a.RouteBrokers.Remove(b);
        time.Advance(TimeSpan.FromSeconds(30));
        await refreshed.Task.WaitAsync(Safety);

        var deadline = DateTime.UtcNow + Safety;
        while (b.OpenTelemetryStreams > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "broker-b's Telemetry stream stays open");
            await Task.Delay(20);
        }

        Assert.Equal(1, a.OpenTelemetryStreams);
        await transport.Producer.SendAsync(Message("after"));
        Assert.Single(b.CallsOf("Telemetry"));
    }

    [Fact]
    public async Task Refusal_is_not_retried_and_carries_the_status_code()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        broker.SendStatus = _ => new RmqStatus { Code = Code.Forbidden, Message = "no permission" };
        await using var transport = Transport(broker);

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(async () => await transport.Producer.SendAsync(Message("x")));

        Assert.Equal("FORBIDDEN", ex.StatusCode);
        Assert.False(ex.IsTransient);
        Assert.Equal(ClusterRole.New, ex.Cluster);
        Assert.Single(broker.CallsOf("SendMessage"));
    }

    [Fact]
    public async Task Cancelled_send_surfaces_as_OperationCanceledException_and_a_timeout_as_a_transient_error()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        broker.ServerSettings = s => s.BackoffPolicy = new RetryPolicy
        {
            MaxAttempts = 2,
            ExponentialBackoff = new ExponentialBackoff { Initial = new Google.Protobuf.WellKnownTypes.Duration(), Max = new Google.Protobuf.WellKnownTypes.Duration(), Multiplier = 1 },
        };
        await using (var warmUp = Transport(broker))
        {
            // Server and client code paths JIT-compiled under the generous default timeout, not the short one below.
            await warmUp.Producer.SendAsync(Message("warm-up"));
        }

        await using var transport = Transport(broker, configure: o => o.RequestTimeout = TimeSpan.FromSeconds(2));
        await transport.Producer.SendAsync(Message("warm"));
        broker.SendDelay = TimeSpan.FromSeconds(10);

        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await transport.Producer.SendAsync(Message("cancelled"), cts.Token));
        }

        var timeout = await Assert.ThrowsAsync<ClusterTransportException>(async () => await transport.Producer.SendAsync(Message("timed-out")));
        Assert.True(timeout.IsTransient);
        Assert.Equal("GRPC_DEADLINE_EXCEEDED", timeout.StatusCode);
        // The timed-out message was tried twice (the server's max attempts) with one and the same id.
        var timedOut = broker.CallsOf("SendMessage").Skip(3).Select(c => c.As<SendMessageRequest>().Messages[0].SystemProperties.MessageId).ToList();
        Assert.Equal(2, timedOut.Count);
        Assert.Single(timedOut.Distinct());
    }

    [Fact]
    public async Task Unreachable_endpoint_is_a_transient_error()
    {
        await using var transport = new GrpcClusterTransport(
            GrpcTransportOptions.From(ClusterRole.Old, new ClusterOptions { Protocol = "Grpc", Endpoint = "http://127.0.0.1:1", RequestTimeout = TimeSpan.FromSeconds(2) }),
            TimeProvider.System,
            NullLoggerFactory.Instance);

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(async () => await transport.Producer.SendAsync(Message("x")));

        Assert.True(ex.IsTransient);
        Assert.Equal(ClusterRole.Old, ex.Cluster);
    }

    [Fact]
    public async Task Message_group_sends_FIFO_to_one_queue_and_delivery_time_sends_DELAY()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        broker.QueuesPerBroker = 4;
        await using var transport = Transport(broker);
        var at = DateTimeOffset.UtcNow.AddMinutes(5);

        for (var i = 0; i < 3; i++)
        {
            await transport.Producer.SendAsync(new OutgoingMessage("orders", new byte[] { 1 }) { MessageGroup = "customer-7" });
        }

        await transport.Producer.SendAsync(new OutgoingMessage("orders", new byte[] { 1 }) { DeliveryTime = at });

        var sent = broker.CallsOf("SendMessage").Select(c => c.As<SendMessageRequest>().Messages[0].SystemProperties).ToList();
        Assert.All(sent.Take(3), s =>
        {
            Assert.Equal(MessageType.Fifo, s.MessageType);
            Assert.Equal("customer-7", s.MessageGroup);
        });
        Assert.Single(sent.Take(3).Select(s => s.QueueId).Distinct());
        Assert.Equal(MessageType.Delay, sent[3].MessageType);
        Assert.Equal(at.ToUnixTimeMilliseconds(), sent[3].DeliveryTimestamp.ToDateTimeOffset().ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Push_consumer_starts_in_order_acks_successes_and_nacks_failures_with_their_delay()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        await using var transport = Transport(broker);
        broker.Offer("orders", "M1", "ok");
        var consumer = transport.CreateConsumer(new ConsumerSubscription("grp", "orders") { MaxConcurrency = 2, FilterExpression = "a || b" }, (m, _) =>
            new(Utf8.UTF8.GetString(m.Body.Span) == "ok" ? ConsumeOutcome.Ack : ConsumeOutcome.Retry(TimeSpan.FromSeconds(3))));

        await consumer.StartAsync();
        await broker.WaitForAsync(c => c.Any(x => x.Method == "AckMessage"));
        broker.Offer("orders", "M2", "bad");
        await broker.WaitForAsync(c => c.Any(x => x.Method == "ChangeInvisibleDuration"));
        await consumer.StopAsync();

        var calls = broker.Calls;
        Assert.True(IndexOf(calls, "QueryRoute") < IndexOf(calls, "Telemetry"));
        Assert.True(IndexOf(calls, "Telemetry") < IndexOf(calls, "Heartbeat"));
        Assert.True(IndexOf(calls, "Heartbeat") < IndexOf(calls, "QueryAssignment"));
        Assert.True(IndexOf(calls, "QueryAssignment") < IndexOf(calls, "ReceiveMessage"));

        var settings = calls[IndexOf(calls, "Telemetry")].As<TelemetryCommand>().Settings;
        Assert.Equal(ClientType.PushConsumer, settings.ClientType);
        Assert.Equal("grp", settings.Subscription.Group.Name);
        Assert.Equal("orders", settings.Subscription.Subscriptions.Single().Topic.Name);
        Assert.Equal("a || b", settings.Subscription.Subscriptions.Single().Expression.Expression);

        var heartbeat = calls[IndexOf(calls, "Heartbeat")].As<HeartbeatRequest>();
        Assert.Equal(ClientType.PushConsumer, heartbeat.ClientType);
        Assert.Equal("grp", heartbeat.Group.Name);

        var receive = calls[IndexOf(calls, "ReceiveMessage")].As<ReceiveMessageRequest>();
        Assert.Equal("grp", receive.Group.Name);
        Assert.InRange(receive.BatchSize, 1, 32);
        Assert.False(receive.AutoRenew);
        Assert.True(receive.InvisibleDuration.ToTimeSpan() >= TimeSpan.FromSeconds(10));
        Assert.Equal(-1, receive.MessageQueue.Id);

        var ack = calls.First(c => c.Method == "AckMessage").As<AckMessageRequest>();
        Assert.Equal("M1", ack.Entries.Single().MessageId);
        Assert.Equal("broker-a-h1", ack.Entries.Single().ReceiptHandle);
        Assert.Equal("grp", ack.Group.Name);

        var nack = calls.First(c => c.Method == "ChangeInvisibleDuration").As<ChangeInvisibleDurationRequest>();
        Assert.Equal("M2", nack.MessageId);
        Assert.Equal("broker-a-h2", nack.ReceiptHandle);
        Assert.Equal(TimeSpan.FromSeconds(3), nack.InvisibleDuration.ToTimeSpan());

        var goodbye = Assert.Single(broker.CallsOf("NotifyClientTermination")).As<NotifyClientTerminationRequest>();
        Assert.Equal("grp", goodbye.Group.Name);
    }

    [Fact]
    public async Task Acks_that_queue_up_share_one_AckMessage_and_each_message_is_acked_once()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        await using var transport = Transport(broker);
        for (var i = 0; i < 64; i++)
        {
            broker.Offer("orders", $"M{i}", "x");
        }

        var consumer = transport.CreateConsumer(new ConsumerSubscription("grp", "orders") { MaxConcurrency = 16 }, (_, _) => new(ConsumeOutcome.Ack));
        await consumer.StartAsync();
        await broker.WaitForAsync(c => c.Where(x => x.Method == "AckMessage").Sum(x => x.As<AckMessageRequest>().Entries.Count) >= 64);
        await consumer.StopAsync();

        var acks = broker.CallsOf("AckMessage").Select(c => c.As<AckMessageRequest>()).ToList();
        var acked = acks.SelectMany(a => a.Entries).Select(e => e.MessageId).ToList();
        Assert.Equal(Enumerable.Range(0, 64).Select(i => $"M{i}").Order(StringComparer.Ordinal), acked.Order(StringComparer.Ordinal));
        Assert.True(acks.Count < 64, $"{acks.Count} AckMessage calls for 64 messages");
        Assert.All(acks, a => Assert.InRange(a.Entries.Count, 1, 32));
    }

    [Fact]
    public async Task Ordered_group_handles_a_batch_in_order_and_a_failure_holds_back_the_rest()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        broker.ServerSettings = s =>
        {
            if (s.Subscription is { } subscription)
            {
                subscription.Fifo = true;
            }
        };
        await using var transport = Transport(broker);
        foreach (var id in new[] { "M1", "M2", "M3", "M4" })
        {
            broker.Offer("orders", id, id);
        }

        var handled = new List<string>();
        var consumer = transport.CreateConsumer(new ConsumerSubscription("grp", "orders") { MaxConcurrency = 4 }, (m, _) =>
        {
            lock (handled)
            {
                handled.Add(m.MessageId);
            }

            return new(m.MessageId == "M2" ? ConsumeOutcome.Retry(TimeSpan.FromSeconds(7)) : ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();
        await broker.WaitForAsync(c => c.Count(x => x.Method == "ChangeInvisibleDuration") >= 3);
        await consumer.StopAsync();

        Assert.True(((GrpcPushConsumer)consumer).Current is null);
        Assert.Equal(["M1", "M2"], handled);
        Assert.Equal(["M1"], broker.CallsOf("AckMessage").SelectMany(c => c.As<AckMessageRequest>().Entries).Select(e => e.MessageId));
        var held = broker.CallsOf("ChangeInvisibleDuration").Select(c => c.As<ChangeInvisibleDurationRequest>()).ToList();
        Assert.Equal(["M2", "M3", "M4"], held.Select(r => r.MessageId));
        Assert.All(held, r => Assert.Equal(TimeSpan.FromSeconds(7), r.InvisibleDuration.ToTimeSpan()));
    }

    [Fact]
    public async Task Graceful_stop_finishes_the_running_handler_hands_back_the_rest_and_can_start_again()
    {
        await using var broker = await ScriptedBroker.StartAsync();
        await using var transport = Transport(broker);
        broker.Offer("orders", "M1", "one");
        broker.Offer("orders", "M2", "two");
        broker.Offer("orders", "M3", "three");
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = new List<string>();
        var consumer = transport.CreateConsumer(new ConsumerSubscription("grp", "orders") { MaxConcurrency = 1 }, async (m, _) =>
        {
            lock (handled)
            {
                handled.Add(m.MessageId);
            }

            started.TrySetResult();
            await release.Task;
            return ConsumeOutcome.Ack;
        });

        await consumer.StartAsync();
        await started.Task.WaitAsync(Safety);
        var stopping = consumer.StopAsync();
        release.SetResult();
        await stopping.WaitAsync(Safety);

        Assert.Equal(["M1"], handled);
        Assert.Equal("M1", Assert.Single(broker.CallsOf("AckMessage")).As<AckMessageRequest>().Entries[0].MessageId);
        var handedBack = broker.CallsOf("ChangeInvisibleDuration").Select(c => c.As<ChangeInvisibleDurationRequest>()).ToList();
        Assert.Equal(["M2", "M3"], handedBack.Select(r => r.MessageId).Order(StringComparer.Ordinal));
        Assert.All(handedBack, r => Assert.Equal(TimeSpan.Zero, r.InvisibleDuration.ToTimeSpan()));
        Assert.Single(broker.CallsOf("NotifyClientTermination"));

        var firstClient = broker.CallsOf("Telemetry").First().Headers["x-mq-client-id"];
        await consumer.StartAsync();
        broker.Offer("orders", "M4", "four");
        await broker.WaitForAsync(c => c.Any(x => x.Method == "AckMessage" && x.As<AckMessageRequest>().Entries[0].MessageId == "M4"));
        await consumer.StopAsync();
        Assert.NotEqual(firstClient, broker.CallsOf("Telemetry").Last().Headers["x-mq-client-id"]);
    }
}
