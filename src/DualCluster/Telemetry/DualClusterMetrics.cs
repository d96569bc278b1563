using System.Diagnostics.Metrics;

namespace DualCluster.Telemetry;

/// <summary>The instruments of one host (one DI container), created from its <see cref="IMeterFactory"/> when it has one.</summary>
internal sealed class DualClusterMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public DualClusterMetrics(IMeterFactory? meterFactory = null)
    {
        if (meterFactory is not null)
        {
            _meter = meterFactory.Create(DualClusterTelemetry.Name);
        }
        else
        {
            _meter = new Meter(DualClusterTelemetry.Name);
            _ownsMeter = true;
        }

        Sent = _meter.CreateCounter<long>("dualcluster.messages.sent", "{message}", "Messages acknowledged by a broker, per cluster.");
        SendFailures = _meter.CreateCounter<long>("dualcluster.messages.send_failures", "{message}", "Sends that failed after retries, per cluster.");
        Failovers = _meter.CreateCounter<long>("dualcluster.messages.failovers", "{message}", "Sends that failed over to the other cluster.");
        Consumed = _meter.CreateCounter<long>("dualcluster.messages.consumed", "{message}", "Messages whose handler completed, per cluster.");
        Duplicates = _meter.CreateCounter<long>("dualcluster.messages.duplicates", "{message}", "Deliveries skipped because the key was already processed.");
        HandlerFailures = _meter.CreateCounter<long>("dualcluster.messages.handler_failures", "{message}", "Handler exceptions (message left for redelivery).");
        DeadLettered = _meter.CreateCounter<long>("dualcluster.messages.dead_lettered", "{message}", "Messages whose last delivery attempt was not processed: the broker moves them to the group's dead-letter queue.");
        Postponed = _meter.CreateCounter<long>("dualcluster.messages.postponed", "{message}", "Deliveries not processed because another node held the key or the store was unreachable.");
        PayloadMismatches = _meter.CreateCounter<long>("dualcluster.idempotency.payload_mismatches", "{message}", "Deliveries whose key was processed before with a different body.");
        StoreErrors = _meter.CreateCounter<long>("dualcluster.idempotency.store_errors", "{error}", "Idempotency store calls that failed.");
        Switches = _meter.CreateCounter<long>("dualcluster.routing.switches", "{switch}", "Routing changes applied on this node.");
        RejectedReloads = _meter.CreateCounter<long>("dualcluster.routing.rejected_reloads", "{reload}", "Configuration reloads rejected as invalid or unsafe.");
        Draining = _meter.CreateUpDownCounter<long>("dualcluster.consumer.draining", "{consumer}", "Consumers draining Old before leaving it.");
        HeldSends = _meter.CreateCounter<long>("dualcluster.producer.held_sends", "{message}", "Sends kept on Old because a consumer group of the topic holds no position on New yet (or the fleet facts are unavailable).");
        SendDuration = _meter.CreateHistogram<double>("dualcluster.send.duration", "ms", "Duration of a facade send, retries included.");
        HandleDuration = _meter.CreateHistogram<double>("dualcluster.handle.duration", "ms", "Duration of a handler call.");
    }

    public Counter<long> Sent { get; }

    public Counter<long> SendFailures { get; }

    public Counter<long> Failovers { get; }

    public Counter<long> Consumed { get; }

    public Counter<long> Duplicates { get; }

    public Counter<long> HandlerFailures { get; }

    public Counter<long> Postponed { get; }

    public Counter<long> DeadLettered { get; }

    public Counter<long> StoreErrors { get; }

    public Counter<long> PayloadMismatches { get; }

    public Counter<long> Switches { get; }

    public Counter<long> RejectedReloads { get; }

    public UpDownCounter<long> Draining { get; }

    public Counter<long> HeldSends { get; }

    public Histogram<double> SendDuration { get; }

    public Histogram<double> HandleDuration { get; }

    public static KeyValuePair<string, object?> Cluster(ClusterRole role) => new("cluster", role == ClusterRole.Old ? "old" : "new");

    public static KeyValuePair<string, object?> Topic(string topic) => new("topic", topic);

    public static KeyValuePair<string, object?> Group(string group) => new("group", group);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
