using System.Text;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Transport;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>
/// When a stopping 4.x consumer may commit: never beyond a queue's lowest unfinished offset, never for a queue
/// another client took over while this one waited for its handlers.
/// </summary>
public sealed class OffsetCommitRulesTests
{
    [Fact]
    public async Task A_late_stop_never_moves_back_the_offset_of_a_queue_another_node_took_over()
    {
        await using var cluster = await StartLoopbackAsync();
        var topic = Unique("T");
        var group = Unique("G");
        cluster.Broker.CreateTopic(topic, 1);

        // Client ids sort ordinally: B's sorts first, so B gets the only queue as soon as it joins.
        await using var transportA = NewTransport(cluster.NameServerAddress, o => o.Settings["InstanceName"] = "zz-a-" + Guid.NewGuid().ToString("N"));
        await using var transportB = NewTransport(cluster.NameServerAddress, o => o.Settings["InstanceName"] = "aa-b-" + Guid.NewGuid().ToString("N"));
        for (var i = 0; i < 5; i++)
        {
            await transportA.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"m{i}")));
        }

        // A pulls all five, then hangs in its handler on the first; with one handler slot the others wait unhandled.
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = (RemotingConsumer)transportA.CreateConsumer(new ConsumerSubscription(group, topic) { MaxConcurrency = 1 }, async (_, _) =>
        {
            entered.TrySetResult();
            await release.Task;
            return ConsumeOutcome.Ack;
        });
        await a.StartAsync();
        await entered.Task.WaitAsync(SafetyTimeout);

        // A starts a graceful stop (waiting for its hung handler); meanwhile B joins and takes the queue over.
        var stoppingA = a.StopAsync();
        var consumedByB = 0;
        var b = transportB.CreateConsumer(new ConsumerSubscription(group, topic), (_, _) =>
        {
            Interlocked.Increment(ref consumedByB);
            return ValueTask.FromResult(ConsumeOutcome.Ack);
        });
        await b.StartAsync();
        await WaitUntilAsync(() => cluster.Broker.QueryOffset(group, topic, 0) == 5, "B consumed the queue and committed offset 5");
        await b.StopAsync();
        Assert.Equal(5, cluster.Broker.QueryOffset(group, topic, 0));

        // A's handler finally returns; its stop must not commit its own low-water mark (1) over B's 5.
        release.SetResult();
        await stoppingA.WaitAsync(SafetyTimeout);

        Assert.True(Volatile.Read(ref consumedByB) >= 5);
        Assert.Equal(5, cluster.Broker.QueryOffset(group, topic, 0));
    }

    [Fact]
    public async Task A_graceful_stop_commits_the_lowest_unfinished_offset_of_a_queue_it_still_owns()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress);
        var topic = Unique("T");
        var group = Unique("G");
        cluster.Broker.CreateTopic(topic, 1);
        for (var i = 0; i < 5; i++)
        {
            await transport.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"m{i}")));
        }

        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription(group, topic) { MaxConcurrency = 1 }, async (_, _) =>
        {
            entered.TrySetResult();
            await release.Task;
            return ConsumeOutcome.Ack;
        });
        await consumer.StartAsync();
        await entered.Task.WaitAsync(SafetyTimeout);

        var stopping = consumer.StopAsync();
        release.SetResult();
        await stopping.WaitAsync(SafetyTimeout);

        // m0 finished; m1..m4 were pulled but never handled, so the commit stops at 1 and they come again.
        Assert.Equal(1, cluster.Broker.QueryOffset(group, topic, 0));
    }

    [Fact]
    public async Task A_forced_stop_commits_nothing_for_a_queue_whose_handler_outlived_the_grace_period()
    {
        await using var cluster = await StartLoopbackAsync();
        await using var transport = NewTransport(cluster.NameServerAddress, o => o.Settings["OffsetPersistInterval"] = "00:10:00");
        var topic = Unique("T");
        var group = Unique("G");
        cluster.Broker.CreateTopic(topic, 1);
        for (var i = 0; i < 5; i++)
        {
            await transport.Producer.SendAsync(new OutgoingMessage(topic, Encoding.UTF8.GetBytes($"m{i}")));
        }

        // m0 succeeds; m1's handler ignores cancellation and outlives the stop; m2..m4 never start.
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = (RemotingConsumer)transport.CreateConsumer(new ConsumerSubscription(group, topic) { MaxConcurrency = 2 }, async (m, _) =>
        {
            if (Encoding.UTF8.GetString(m.Body.Span) != "m0")
            {
                entered.TrySetResult();
                await release.Task;
            }

            return ConsumeOutcome.Ack;
        });
        await consumer.StartAsync();
        await entered.Task.WaitAsync(SafetyTimeout);
        await WaitUntilAsync(() => consumer.InFlightFor(topic) == 4, "m0 is settled");
        var before = cluster.Broker.QueryOffset(group, topic, 0);

        using var forced = new CancellationTokenSource();
        await forced.CancelAsync();
        await consumer.StopAsync(forced.Token);
        release.SetResult();

        // Committing the low-water mark (1) would be safe for m1 here, but the node no longer knows who owns the
        // queue nor what m1's handler will do: it gives the queue up and leaves the broker's offset alone.
        Assert.Equal(before, cluster.Broker.QueryOffset(group, topic, 0));
    }
}
