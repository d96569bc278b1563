using DualCluster.Routing;
using DualCluster.Tests.Fakes;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;

namespace DualCluster.Tests.Producing;

public sealed class ProducerFacadeTests
{
    private static string NodeInBucket(Func<int, bool> predicate) =>
        Enumerable.Range(0, 10_000).Select(i => $"node-{i}").First(id => predicate(NodeBucket.Compute(id)));

    private static OutgoingMessage Message(string body = "hello") => new("orders", System.Text.Encoding.UTF8.GetBytes(body));

    private static FakeCluster Cluster(string node, int producer, int consumer, params (string, string?)[] extra) =>
        new(FakeCluster.Settings(node, producer, consumer, false, extra), b => b.AddProducer());

    [Fact]
    public async Task A_send_goes_to_the_routed_cluster_with_a_stamped_key()
    {
        await using var cluster = Cluster("n1", 0, 0);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        var result = await producer.SendAsync(Message());

        Assert.Equal(ClusterRole.Old, result.Cluster);
        var (sent, key) = Assert.Single(cluster.Old.Sent);
        Assert.Equal(32, key!.Length);
        Assert.Equal(result.IdempotencyKey, key);
        Assert.Empty(cluster.New.Sent);
    }

    [Fact]
    public async Task Sending_the_same_message_object_twice_sends_two_messages_with_two_keys()
    {
        await using var cluster = Cluster("n1", 0, 0);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();
        var message = Message();

        var first = await producer.SendAsync(message);
        var second = await producer.SendAsync(message);

        Assert.NotEqual(first.IdempotencyKey, second.IdempotencyKey);
        Assert.Equal([first.IdempotencyKey, second.IdempotencyKey], cluster.Old.Sent.Select(s => s.Key));
        Assert.Null(message.IdempotencyKey);
        Assert.False(message.HasProperties);
    }

    [Fact]
    public async Task An_application_key_is_kept()
    {
        await using var cluster = Cluster("n1", 0, 0);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();
        var message = Message();
        message.IdempotencyKey = "order-42:paid";

        var result = await producer.SendAsync(message);

        Assert.Equal("order-42:paid", result.IdempotencyKey);
    }

    [Fact]
    public async Task Transient_failures_are_retried_with_the_same_key()
    {
        await using var cluster = Cluster("n1", 0, 0);
        cluster.Old.FailNextSends(2);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        var result = await producer.SendAsync(Message());

        Assert.Equal(3, cluster.Old.Sent.Count);
        Assert.All(cluster.Old.Sent, s => Assert.Equal(result.IdempotencyKey, s.Key));
    }

    [Fact]
    public async Task A_non_transient_failure_is_not_retried_and_surfaces_typed()
    {
        await using var cluster = Cluster("n1", 0, 0);
        cluster.Old.FailNextSends(1, transient: false);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(() => producer.SendAsync(Message()).AsTask());

        Assert.Equal(ClusterRole.Old, ex.Cluster);
        Assert.Equal("UNAVAILABLE", ex.StatusCode);
        Assert.Single(cluster.Old.Sent);
    }

    [Fact]
    public async Task An_invalid_message_throws_ArgumentException_before_any_send()
    {
        await using var cluster = Cluster("n1", 0, 0);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();
        var message = Message();
        message.Properties["UNIQ_KEY"] = "x";

        await Assert.ThrowsAsync<ArgumentException>(() => producer.SendAsync(message).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => producer.SendAsync(new OutgoingMessage("orders", ReadOnlyMemory<byte>.Empty)).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => producer.SendAsync(new OutgoingMessage("bad topic!", new byte[] { 1 })).AsTask());
        Assert.Empty(cluster.Old.Sent);
    }

    [Fact]
    public async Task A_routing_switch_applies_to_the_next_send_and_in_flight_sends_complete_on_their_cluster()
    {
        var node = NodeInBucket(b => b < 50);
        await using var cluster = Cluster(node, 0, 50);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();
        var routing = cluster.Services.GetRequiredService<RoutingState>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.Old.BeforeSend = async (_, _) =>
        {
            entered.TrySetResult();
            await gate.Task;
        };

        var inFlight = producer.SendAsync(Message("first")).AsTask();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        cluster.Configuration.Set(("DualCluster:Producer:NewWeight", "50"));
        Assert.True(routing.Reload());
        var next = await producer.SendAsync(Message("second"));
        gate.SetResult();
        var first = await inFlight.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(ClusterRole.Old, first.Cluster);
        Assert.Equal(ClusterRole.New, next.Cluster);
        Assert.Single(cluster.Old.Sent);
        Assert.Single(cluster.New.Sent);
    }

    [Fact]
    public async Task Failover_sends_to_the_other_cluster_when_it_has_readers()
    {
        await using var cluster = Cluster("n1", 0, 50, ("DualCluster:Producer:Failover", "OtherCluster"), ("DualCluster:Resilience:MaxRetryAttempts", "1"));
        cluster.Old.FailNextSends(10);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        var result = await producer.SendAsync(Message());

        Assert.True(result.FailedOver);
        Assert.Equal(ClusterRole.New, result.Cluster);
        Assert.Equal(cluster.Old.Sent.First().Key, cluster.New.Sent.Single().Key);
    }

    [Fact]
    public async Task Failover_is_refused_when_nobody_reads_the_other_cluster()
    {
        await using var cluster = Cluster("n1", 0, 0, ("DualCluster:Producer:Failover", "OtherCluster"), ("DualCluster:Resilience:MaxRetryAttempts", "1"));
        cluster.Old.FailNextSends(10);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        await Assert.ThrowsAsync<ClusterTransportException>(() => producer.SendAsync(Message()).AsTask());

        Assert.Empty(cluster.New.Sent);
    }

    [Fact]
    public async Task Mirror_writes_the_same_key_to_both_clusters()
    {
        await using var cluster = Cluster("n1", 0, 50, ("DualCluster:Producer:Mirror", "true"));
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        var result = await producer.SendAsync(Message());

        Assert.NotNull(result.MirrorReceipt);
        Assert.Equal(ClusterRole.New, result.MirrorReceipt!.Value.Cluster);
        Assert.Equal(cluster.Old.Sent.Single().Key, cluster.New.Sent.Single().Key);
    }

    [Fact]
    public async Task A_failing_mirror_does_not_fail_the_acknowledged_primary_send()
    {
        await using var cluster = Cluster("n1", 0, 50, ("DualCluster:Producer:Mirror", "true"), ("DualCluster:Resilience:MaxRetryAttempts", "0"));
        cluster.New.FailNextSends(1, transient: false);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        var result = await producer.SendAsync(Message());

        Assert.Equal(ClusterRole.Old, result.Cluster);
        Assert.Null(result.MirrorReceipt);
    }

    [Fact]
    public async Task The_breaker_opens_after_repeated_transient_failures()
    {
        await using var cluster = Cluster("n1", 0, 0, ("DualCluster:Resilience:MaxRetryAttempts", "0"), ("DualCluster:Resilience:BreakerMinimumThroughput", "4"));
        cluster.Old.FailNextSends(1000);
        var producer = cluster.Services.GetRequiredService<IDualClusterProducer>();

        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<ClusterTransportException>(() => producer.SendAsync(Message()).AsTask());
        }

        await Assert.ThrowsAsync<BrokenCircuitException>(() => producer.SendAsync(Message()).AsTask());
        Assert.Equal(4, cluster.Old.Sent.Count);
    }
}
