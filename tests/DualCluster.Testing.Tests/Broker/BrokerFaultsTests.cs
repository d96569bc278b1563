using System.Text;
using DualCluster.Testing;
using DualCluster.Transport;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Testing.Tests.Broker;

public sealed class BrokerFaultsTests
{
    private static readonly TimeSpan Invisible = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private InMemoryBroker NewBroker() => new(new InMemoryBrokerOptions { Name = "faults", TimeProvider = _time });

    private static OutgoingMessage Message(string key) => new("orders", Encoding.UTF8.GetBytes(key)) { IdempotencyKey = key };

    [Fact]
    public async Task Failed_sends_surface_as_transient_transport_errors_and_store_nothing()
    {
        var broker = NewBroker();
        var producer = new InMemoryClusterTransport(broker, ClusterRole.Old).Producer;
        broker.Faults.FailNextSends(2);

        for (var i = 0; i < 2; i++)
        {
            var e = await Assert.ThrowsAsync<ClusterTransportException>(async () => await producer.SendAsync(Message("m")));
            Assert.True(e.IsTransient);
            Assert.Equal(ClusterRole.Old, e.Cluster);
            Assert.Equal(BrokerStatusCodes.InjectedFailure, e.StatusCode);
        }

        await producer.SendAsync(Message("m"));
        Assert.Equal(1, broker.Counters.Stored);
        Assert.Equal(2, broker.Counters.SendsFailed);
    }

    [Fact]
    public async Task Permanent_send_failure_is_not_transient()
    {
        var broker = NewBroker();
        var producer = new InMemoryClusterTransport(broker, ClusterRole.New).Producer;
        broker.Faults.FailNextSends(1, transient: false);

        var e = await Assert.ThrowsAsync<ClusterTransportException>(async () => await producer.SendAsync(Message("m")));

        Assert.False(e.IsTransient);
        Assert.Equal(ClusterRole.New, e.Cluster);
    }

    [Fact]
    public async Task Send_whose_response_is_lost_was_stored_and_its_retry_keeps_the_message_id()
    {
        var broker = NewBroker();
        var producer = new InMemoryClusterTransport(broker, ClusterRole.Old).Producer;
        broker.Faults.FailNextSendsAfterStoring(1);
        var message = Message("m");

        var e = await Assert.ThrowsAsync<ClusterTransportException>(async () => await producer.SendAsync(message));
        var receipt = await producer.SendAsync(message);

        Assert.True(e.IsTransient);
        Assert.Equal(BrokerStatusCodes.Timeout, e.StatusCode);
        var stored = broker.GetMessages("orders");
        Assert.Equal(2, stored.Count);
        Assert.All(stored, m => Assert.Equal(receipt.MessageId, m.MessageId));
    }

    [Fact]
    public void Lost_ack_reports_success_but_the_message_is_redelivered()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("m"));
        broker.Faults.AckLossProbability = 1;

        Assert.True(broker.Ack(Assert.Single(broker.Receive("g", "orders", 10, Invisible))));
        _time.Advance(Invisible);

        Assert.Equal(2, Assert.Single(broker.Receive("g", "orders", 10, Invisible)).DeliveryAttempt);
        Assert.Equal(1, broker.Counters.AcksLost);
        Assert.Equal(0, broker.Counters.Acked);
    }

    [Fact]
    public void Ack_loss_probability_must_be_a_probability()
    {
        var broker = NewBroker();
        Assert.Throws<ArgumentOutOfRangeException>(() => broker.Faults.AckLossProbability = 1.5);
    }

    [Fact]
    public async Task Paused_cluster_refuses_requests_transiently_until_resumed()
    {
        var broker = NewBroker();
        broker.Subscribe("g", "orders");
        broker.Send(Message("m"));
        var delivery = Assert.Single(broker.Receive("g", "orders", 10, Invisible));
        var transport = new InMemoryClusterTransport(broker, ClusterRole.New);
        broker.Faults.Pause();

        Assert.True(broker.Faults.IsPaused);
        Assert.True(Assert.Throws<InMemoryBrokerException>(() => broker.Send(Message("n"))).IsTransient);
        Assert.Equal(BrokerStatusCodes.Unavailable, Assert.Throws<InMemoryBrokerException>(() => broker.Receive("g", "orders", 10, Invisible)).StatusCode);
        Assert.Throws<InMemoryBrokerException>(() => broker.Ack(delivery));
        Assert.Throws<InMemoryBrokerException>(() => broker.Pull("g", "orders", 0, 0, 1));
        var sendError = await Assert.ThrowsAsync<ClusterTransportException>(async () => await transport.Producer.SendAsync(Message("n")));
        Assert.True(sendError.IsTransient);
        var probeError = await Assert.ThrowsAsync<ClusterTransportException>(async () => await transport.BacklogProbe.GetBacklogAsync("g", "orders"));
        Assert.True(probeError.IsTransient);

        broker.Faults.Resume();

        Assert.True(broker.Ack(delivery));
        broker.Send(Message("n"));
    }

    [Fact]
    public async Task Crashed_consumer_leaves_the_message_for_redelivery_after_the_invisible_duration()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "crash" });
        await using var transport = new InMemoryClusterTransport(broker, ClusterRole.Old);
        var attempts = new List<int>();
        var redelivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription("g", "orders") { InvisibleDuration = TimeSpan.FromMilliseconds(300) }, (m, _) =>
        {
            lock (attempts)
            {
                attempts.Add(m.DeliveryAttempt);
            }

            if (m.DeliveryAttempt == 2)
            {
                redelivered.TrySetResult();
            }

            return new(ConsumeOutcome.Ack);
        });
        broker.Faults.CrashConsumerOnNextMessages(1);
        await consumer.StartAsync();

        await transport.Producer.SendAsync(Message("m"));
        await redelivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await consumer.StopAsync();

        Assert.Equal([1, 2], attempts);
        Assert.Equal(1, broker.Counters.Acked);
    }

    [Fact]
    public void Reset_clears_every_fault()
    {
        var broker = NewBroker();
        broker.Faults.FailNextSends(5);
        broker.Faults.AckLossProbability = 1;
        broker.Faults.CrashConsumerOnNextMessages(3);
        broker.Faults.Pause();

        broker.Faults.Reset();

        broker.Send(Message("m"));
        Assert.False(broker.Faults.IsPaused);
        Assert.Equal(0, broker.Faults.AckLossProbability);
        Assert.False(broker.Faults.TryTakeConsumerCrash());
    }
}
