using System.Diagnostics;
using System.Diagnostics.Metrics;
using DualCluster.Consuming;
using DualCluster.Telemetry;
using DualCluster.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace DualCluster.Tests.Telemetry;

// Listeners are process-wide: tests here filter on a topic only they use.
public sealed class TelemetryTests
{
    [Fact]
    public async Task A_send_counts_on_the_DualCluster_meter_with_cluster_and_topic_tags()
    {
        var sent = new List<(long Value, string? Cluster)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == DualClusterTelemetry.Name && i.Name == "dualcluster.messages.sent")
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? cluster = null, topic = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "cluster") cluster = tag.Value as string;
                if (tag.Key == "topic") topic = tag.Value as string;
            }

            if (topic == "telemetry-metrics")
            {
                lock (sent)
                {
                    sent.Add((value, cluster));
                }
            }
        });
        listener.Start();
        await using var cluster = new FakeCluster(FakeCluster.Settings("n1", 0, 0), b => b.AddProducer());

        await cluster.Services.GetRequiredService<IDualClusterProducer>().SendAsync(new OutgoingMessage("telemetry-metrics", new byte[] { 1 }));

        Assert.Equal([(1L, "old")], sent);
    }

    [Fact]
    public async Task The_consumer_span_joins_the_producer_trace_through_message_properties()
    {
        var activities = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == DualClusterTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.GetTagItem("messaging.destination.name") as string == "telemetry-trace")
                {
                    lock (activities)
                    {
                        activities.Add(a);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var cluster = new FakeCluster(FakeCluster.Settings("n1", 0, 0), b => b
            .AddProducer()
            .AddConsumer("trace-group", "telemetry-trace", (_, _) => Task.CompletedTask));
        var consumer = cluster.Services.GetRequiredService<ConsumerSlot>().Get(cluster.Services);
        await consumer.StartAsync(CancellationToken.None);

        await cluster.Services.GetRequiredService<IDualClusterProducer>().SendAsync(new OutgoingMessage("telemetry-trace", new byte[] { 1 }));
        var (message, _) = Assert.Single(cluster.Old.Sent);
        var traceParent = message.Properties[MessageProperties.TraceParent];
        var delivered = new ReceivedMessage(ClusterRole.Old, "telemetry-trace", "m1", new byte[] { 1 }, 1, properties: new Dictionary<string, string>(message.Properties)
        {
            [MessageProperties.IdempotencyKey] = message.IdempotencyKey!,
        });
        var fake = cluster.Old.Consumers.Single(c => c.Running);
        await fake.Handler(delivered, CancellationToken.None);
        await consumer.StopAsync(CancellationToken.None);

        var send = Assert.Single(activities, a => a.Kind == ActivityKind.Producer);
        var process = Assert.Single(activities, a => a.Kind == ActivityKind.Consumer);
        Assert.Equal(send.Id, traceParent);
        Assert.Equal(send.TraceId, process.TraceId);
        Assert.Equal(send.SpanId, process.ParentSpanId);
    }
}
