using System.Text;
using DualCluster.Testing;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DualCluster.Testing.Tests.Transport;

public sealed class InMemoryClusterTransportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static OutgoingMessage Message(string topic, string key) => new(topic, Encoding.UTF8.GetBytes(key)) { IdempotencyKey = key };

    [Fact]
    public void Factory_uses_the_broker_named_by_the_cluster_endpoint()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "alpha" });
        var factory = new InMemoryClusterTransportFactory(new InMemoryBrokerRegistry().Add("alpha", broker));
        using var services = new ServiceCollection().BuildServiceProvider();

        var transport = (InMemoryClusterTransport)factory.Create(ClusterRole.Old, new ClusterOptions { Protocol = "InMemory", Endpoint = "alpha" }, services);

        Assert.Equal("InMemory", factory.Protocol);
        Assert.Same(broker, transport.Broker);
        Assert.Equal(ClusterRole.Old, transport.Role);
        Assert.Empty(factory.Validate(ClusterRole.Old, new ClusterOptions()));
    }

    [Fact]
    public void Factory_without_an_endpoint_creates_a_broker_named_after_the_role()
    {
        var registry = new InMemoryBrokerRegistry();
        var factory = new InMemoryClusterTransportFactory(registry);
        using var services = new ServiceCollection().BuildServiceProvider();

        var transport = (InMemoryClusterTransport)factory.Create(ClusterRole.New, new ClusterOptions { Protocol = "InMemory" }, services);

        Assert.True(registry.TryGet("New", out var broker));
        Assert.Same(broker, transport.Broker);
        Assert.Equal("New", broker.Name);
    }

    [Fact]
    public void Old_and_new_must_be_different_brokers()
    {
        var broker = new InMemoryBroker();
        var builder = new ServiceCollection().AddDualCluster(_ => { });

        Assert.Throws<ArgumentException>(() => builder.UseInMemoryBrokers(broker, broker));
    }

    [Fact]
    public async Task Clusters_configured_with_the_InMemory_protocol_use_the_registry_brokers()
    {
        var registry = new InMemoryBrokerRegistry();
        var builder = Host.CreateApplicationBuilder();
        builder.Services
            .AddDualCluster(o =>
            {
                o.NodeId = "node-1";
                o.Clusters.Old.Protocol = "InMemory";
                o.Clusters.New.Protocol = "InMemory";
            })
            .AddProducer()
            .AddInMemoryTransport(registry);
        using var host = builder.Build();
        await host.StartAsync();

        await host.Services.GetRequiredService<IDualClusterProducer>().SendAsync(Message("orders", "m1"));
        await host.StopAsync();

        Assert.True(registry.TryGet("Old", out var old));
        Assert.Equal("m1", Assert.Single(old.GetMessages("orders")).IdempotencyKey);
    }

    [Fact]
    public async Task Consumer_resumes_after_the_cluster_was_paused()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "paused" });
        await using var transport = new InMemoryClusterTransport(broker, ClusterRole.New, new InMemoryTransportOptions { FetchErrorDelay = TimeSpan.FromMilliseconds(20) });
        var received = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(new ConsumerSubscription("g", "orders"), (m, _) =>
        {
            received.TrySetResult(m);
            return new(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();
        broker.Faults.Pause();
        await Assert.ThrowsAsync<ClusterTransportException>(async () => await transport.Producer.SendAsync(Message("orders", "refused")));

        broker.Faults.Resume();
        await transport.Producer.SendAsync(Message("orders", "accepted"));

        Assert.Equal("accepted", (await received.Task.WaitAsync(Timeout)).IdempotencyKey);
        await consumer.StopAsync();
    }

    [Fact]
    public async Task Consumer_cannot_start_on_a_paused_cluster()
    {
        var broker = new InMemoryBroker();
        await using var transport = new InMemoryClusterTransport(broker, ClusterRole.Old);
        var consumer = transport.CreateConsumer(new ConsumerSubscription("g", "orders"), (_, _) => new(ConsumeOutcome.Ack));
        broker.Faults.Pause();

        var e = await Assert.ThrowsAsync<ClusterTransportException>(() => consumer.StartAsync());

        Assert.True(e.IsTransient);
        Assert.Equal(ClusterRole.Old, e.Cluster);
    }

    [Fact]
    public async Task Consumer_applies_the_subscription_max_delivery_attempts_to_its_group()
    {
        var broker = new InMemoryBroker();
        await using var transport = new InMemoryClusterTransport(broker, ClusterRole.Old);
        var attempts = 0;
        var consumer = transport.CreateConsumer(
            new ConsumerSubscription("g", "orders") { MaxDeliveryAttempts = 2 },
            (_, _) =>
            {
                Interlocked.Increment(ref attempts);
                return new(ConsumeOutcome.Retry(TimeSpan.Zero));
            });
        await consumer.StartAsync();

        await transport.Producer.SendAsync(Message("orders", "poison"));
        var deadline = DateTime.UtcNow + Timeout;
        while (broker.GetDeadLetters("g").Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "not dead-lettered");
            await Task.Delay(10);
        }

        await consumer.StopAsync();
        Assert.Equal(2, Volatile.Read(ref attempts));
    }

    [Fact]
    public async Task Disposing_the_transport_stops_its_consumers_and_refuses_new_ones()
    {
        var broker = new InMemoryBroker();
        var transport = new InMemoryClusterTransport(broker, ClusterRole.Old);
        var consumer = transport.CreateConsumer(new ConsumerSubscription("g", "orders"), (_, _) => new(ConsumeOutcome.Ack));
        await consumer.StartAsync();

        await transport.DisposeAsync();
        await transport.Producer.SendAsync(Message("orders", "after-dispose"));

        Assert.Throws<ObjectDisposedException>(() => transport.CreateConsumer(new ConsumerSubscription("g", "orders"), (_, _) => new(ConsumeOutcome.Ack)));
        Assert.Equal(1, broker.GetBacklog("g", "orders").Ready);
    }
}
