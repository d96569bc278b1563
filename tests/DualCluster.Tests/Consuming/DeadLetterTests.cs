using System.Diagnostics.Metrics;
using DualCluster.Testing;
using DualCluster.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DualCluster.Tests.Consuming;

/// <summary>Issue 18, finding 9: a dead-lettered message is told about, not only visible in broker tools.</summary>
public sealed class DeadLetterTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_handler_that_always_throws_ends_with_a_dead_letter_log_metric_status_and_callback()
    {
        var group = "dlq-" + Guid.NewGuid().ToString("N")[..8];
        var old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" });
        var @new = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" });
        var logs = new CapturingLoggerProvider();
        var observed = new TaskCompletionSource<DeadLetteredMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = 0;

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(FakeCluster.Settings("n1", 0, 0));
        builder.Logging.AddProvider(logs);
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseInMemoryBrokers(old, @new, new InMemoryTransportOptions { RetryBackoff = _ => TimeSpan.FromMilliseconds(10), PollTimeout = TimeSpan.FromMilliseconds(200) })
            .AddProducer()
            .AddConsumer(group, group, (_, _) =>
            {
                Interlocked.Increment(ref attempts);
                throw new InvalidOperationException("cannot parse the order");
            }, o =>
            {
                o.MaxDeliveryAttempts = 3;
                o.OnDeadLetter = (dead, _) =>
                {
                    observed.TrySetResult(dead);
                    return Task.CompletedTask;
                };
            });
        using var host = builder.Build();

        var deadLettered = 0L;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "DualCluster" && instrument.Name == "dualcluster.messages.dead_lettered")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "group" && (string?)tag.Value == group)
                {
                    Interlocked.Add(ref deadLettered, value);
                }
            }
        });
        listener.Start();

        await host.StartAsync();
        try
        {
            var sent = await host.Services.GetRequiredService<IDualClusterProducer>().SendAsync(new OutgoingMessage(group, new byte[] { 1 }) { IdempotencyKey = "order-42:paid" });

            var dead = await observed.Task.WaitAsync(Wait);
            await WaitUntil(() => old.GetDeadLetters(group).Count == 1, "the broker dead-lettered the message");

            // The callback: what, where, why, with the message still in hand.
            Assert.Equal(group, dead.Group);
            Assert.Equal("order-42:paid", dead.IdempotencyKey);
            Assert.Equal(ClusterRole.Old, dead.Cluster);
            Assert.Equal(3, dead.Attempts);
            Assert.Contains("cannot parse the order", dead.Reason, StringComparison.Ordinal);
            Assert.Equal(new byte[] { 1 }, dead.Message!.Body.ToArray());
            Assert.Equal(3, Volatile.Read(ref attempts));

            // The metric.
            Assert.Equal(1, Interlocked.Read(ref deadLettered));

            // The status.
            var consumer = host.Services.GetRequiredService<IDualClusterStatus>().GetStatus().Consumers.Single();
            Assert.Equal("order-42:paid", consumer.LastDeadLetter?.IdempotencyKey);
            Assert.Contains("order-42:paid", consumer.ToString(), StringComparison.Ordinal);

            // The log: the dead-lettering with key and group, and no promise of a redelivery on the last attempt.
            var deadLog = Assert.Single(logs.Entries, e => e.EventId == 3007);
            Assert.Equal(LogLevel.Error, deadLog.Level);
            Assert.Contains(group, deadLog.Message, StringComparison.Ordinal);
            Assert.Contains("order-42:paid", deadLog.Message, StringComparison.Ordinal);
            Assert.Contains("%DLQ%" + group, deadLog.Message, StringComparison.Ordinal);
            Assert.Equal(2, logs.Entries.Count(e => e.EventId == 3003 && e.Message.Contains("will be redelivered", StringComparison.Ordinal)));
            Assert.Single(logs.Entries, e => e.EventId == 3008 && e.Message.Contains("attempt (3 of 3)", StringComparison.Ordinal));
            Assert.Equal(ClusterRole.Old, sent.Cluster);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_failing_dead_letter_callback_is_logged_and_the_message_still_goes_to_the_dead_letter_queue()
    {
        var group = "dlq-" + Guid.NewGuid().ToString("N")[..8];
        var old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" });
        var @new = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" });
        var logs = new CapturingLoggerProvider();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(FakeCluster.Settings("n1", 0, 0));
        builder.Logging.AddProvider(logs);
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseInMemoryBrokers(old, @new, new InMemoryTransportOptions { RetryBackoff = _ => TimeSpan.FromMilliseconds(10), PollTimeout = TimeSpan.FromMilliseconds(200) })
            .AddProducer()
            .AddConsumer(group, group, (_, _) => throw new InvalidOperationException("poison"), o =>
            {
                o.MaxDeliveryAttempts = 1;
                o.OnDeadLetter = (_, _) => throw new IOException("parking store down");
            });
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            await host.Services.GetRequiredService<IDualClusterProducer>().SendAsync(new OutgoingMessage(group, new byte[] { 1 }));
            await WaitUntil(() => old.GetDeadLetters(group).Count == 1, "the broker dead-lettered the message");
            await WaitUntil(() => logs.Entries.Any(e => e.EventId == 3009), "the callback failure was logged");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        // Polls an observable condition (broker state, logs) with a bound; never a guess at timing.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > Wait)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }
}
