using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.RocketMQ.Tests.GrpcLoopback;

/// <summary>ReceiveMessage bounds (fact sheet §5.7): long polls clamped to [5 s, 20 s] and to the deadline; invisibility and batch limits.</summary>
public sealed class LongPollingTests
{
    [Fact]
    public async Task Short_long_poll_is_raised_to_five_seconds_and_wakes_when_a_message_arrives()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        var granted = NextLongPoll(broker);

        var receive = client.ReceiveAsync(group, topic, longPolling: TimeSpan.FromSeconds(1), timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(TimeSpan.FromSeconds(5), await granted.WaitAsync(WireClient.SafetyTimeout));
        time.Advance(TimeSpan.FromSeconds(4.9));
        await client.SendAsync(topic, "late");
        var result = await receive.WaitAsync(WireClient.SafetyTimeout);

        Assert.Equal(Code.Ok, result.Status!.Code);
        Assert.Equal("late", Assert.Single(result.Messages).Body.ToStringUtf8());
    }

    [Fact]
    public async Task Long_poll_is_cut_to_twenty_seconds_then_answers_MESSAGE_NOT_FOUND()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        var granted = NextLongPoll(broker);

        var receive = client.ReceiveAsync(group, topic, longPolling: TimeSpan.FromSeconds(60), timeout: TimeSpan.FromSeconds(90));
        Assert.Equal(TimeSpan.FromSeconds(20), await granted.WaitAsync(WireClient.SafetyTimeout));
        time.Advance(TimeSpan.FromSeconds(20));
        var result = await receive.WaitAsync(WireClient.SafetyTimeout);

        Assert.Equal(Code.MessageNotFound, result.Status!.Code);
        Assert.Empty(result.Messages);
        Assert.Equal(ReceiveMessageResponse.ContentOneofCase.DeliveryTimestamp, result.Responses[^1].ContentCase);
    }

    [Fact]
    public async Task Deadline_too_close_for_a_long_poll_is_ILLEGAL_POLLING_TIME_or_BAD_REQUEST_for_old_clients()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        using var old = new WireClient(broker) { ClientVersion = "5.0.2" };
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;
        using var oldTelemetry = (await old.OpenTelemetryAsync(old.ConsumerSettings(group, topic))).Stream;

        var current = await client.ReceiveAsync(group, topic, longPolling: TimeSpan.Zero, timeout: TimeSpan.FromSeconds(3));
        var legacy = await old.ReceiveAsync(group, topic, longPolling: TimeSpan.Zero, timeout: TimeSpan.FromSeconds(3));

        Assert.Equal(Code.IllegalPollingTime, current.Status!.Code);
        Assert.Equal(Code.BadRequest, legacy.Status!.Code);
    }

    [Fact]
    public async Task Invisible_duration_and_batch_size_outside_the_limits_are_refused()
    {
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic))).Stream;

        var shortInvisible = await client.ReceiveAsync(group, topic, invisible: TimeSpan.FromSeconds(5));
        var bigBatch = await client.ReceiveAsync(group, topic, batchSize: 33);

        Assert.Equal(Code.IllegalInvisibleTime, shortInvisible.Status!.Code);
        Assert.Equal(Code.InternalServerError, bigBatch.Status!.Code);
    }

    [Fact]
    public async Task Auto_renewed_delivery_stays_invisible_past_its_first_deadline_and_acks_with_the_original_handle()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker(new InMemoryBrokerOptions { TimeProvider = time }));
        using var client = new WireClient(broker);
        var (topic, group) = (WireClient.Topic(broker, "t"), WireClient.Unique("g"));
        using var telemetry = (await client.OpenTelemetryAsync(client.ConsumerSettings(group, topic, ClientType.PushConsumer))).Stream;
        await client.SendAsync(topic, "long job");
        var message = (await client.ReceiveAsync(group, topic, autoRenew: true)).Messages.Single();

        for (var second = 0; second < 150; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var backlog = broker.Broker.GetBacklog(group, topic);
        var ack = await client.AckAsync(group, topic, message);

        Assert.Equal(1, backlog.InFlight);
        Assert.Equal(0, backlog.Retry);
        Assert.Equal(Code.Ok, ack.Status.Code);
        Assert.Equal(0, broker.Broker.Counters.Redelivered);
    }

    private static Task<TimeSpan> NextLongPoll(GrpcLoopbackBroker broker)
    {
        var granted = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        broker.Service.LongPollStarted += poll => granted.TrySetResult(poll);
        return granted.Task;
    }
}
