using System.Collections.Concurrent;
using System.Text;
using DualCluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Testing.Tests.Examples;

// The example of docs/testing.md, kept compiling and passing here.
public sealed class HandlerTestingExampleTests
{
    public sealed class Ledger
    {
        public ConcurrentDictionary<string, int> Charges { get; } = new();

        public TaskCompletionSource AllCharged { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed class ChargeOrderHandler(Ledger ledger) : IMessageHandler
    {
        public Task HandleAsync(MessageContext context, CancellationToken cancellationToken)
        {
            var order = Encoding.UTF8.GetString(context.Message.Body.Span);
            ledger.Charges.AddOrUpdate(order, 1, (_, n) => n + 1);
            if (ledger.Charges.Count == 3)
            {
                ledger.AllCharged.TrySetResult();
            }

            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Orders_are_charged_once_even_when_the_broker_loses_acks()
    {
        // Two clusters; the New one's clock is fake so redeliveries happen when the test says so.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var oldCluster = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" });
        var newCluster = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new", TimeProvider = clock });
        newCluster.Faults.AckLossProbability = 1; // every ack "succeeds" but is dropped: all redelivered

        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<Ledger>();
        builder.Services
            .AddDualCluster(o =>
            {
                o.NodeId = "test-node";
                o.Producer.NewWeight = 100; // every node writes New
                o.Consumer.DoubleRead = true; // and reads both
            })
            .AddProducer()
            .AddConsumer<ChargeOrderHandler>("billing", "orders")
            .UseInMemoryBrokers(oldCluster, newCluster);
        using var host = builder.Build();
        await host.StartAsync(); // consumers subscribe first: a new group starts at the latest offset

        var producer = host.Services.GetRequiredService<IDualClusterProducer>();
        foreach (var order in new[] { "order-1", "order-2", "order-3" })
        {
            await producer.SendAsync(new OutgoingMessage("orders", Encoding.UTF8.GetBytes(order)));
        }

        var ledger = host.Services.GetRequiredService<Ledger>();
        await ledger.AllCharged.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var firstRedeliveries = newCluster.Counters.Redelivered;
        clock.Advance(TimeSpan.FromSeconds(31)); // past the invisible duration: the broker redelivers
        await WaitUntilAsync(() => newCluster.Counters.AcksLost >= 6);
        await host.StopAsync();

        Assert.Equal(0, firstRedeliveries);
        Assert.All(ledger.Charges.Values, charges => Assert.Equal(1, charges)); // the duplicates were skipped
        Assert.Equal(3, newCluster.Counters.Stored);
        Assert.Equal(0, oldCluster.Counters.Stored);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }
}
