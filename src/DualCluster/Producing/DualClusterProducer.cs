using System.Diagnostics;
using DualCluster.Fleet;
using DualCluster.Routing;
using DualCluster.Telemetry;
using DualCluster.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace DualCluster.Producing;

/// <summary>The producer facade: key stamping, routing (per topic, on fleet facts when a registry is registered), resilience, mirror and failover.</summary>
internal sealed class DualClusterProducer(
    RoutingState routing,
    ClusterTransports transports,
    SendPipelines pipelines,
    DualClusterMetrics metrics,
    TopicRouter router,
    FleetMonitor monitor,
    FleetActivity fleetActivity,
    ILogger<DualClusterProducer>? logger = null) : IDualClusterProducer
{
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    public async ValueTask<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);

        // Stamped once, before the first attempt: retries, failover and the mirror all carry the same key. The stamp
        // goes on a copy, so a caller who sends the same object again sends a new message, not a silent duplicate.
        var key = message.IdempotencyKey ?? Guid.NewGuid().ToString("N");
        message = message.StampedCopy(key);
        var snapshot = routing.Current;
        var target = await router.ResolveAsync(message.Topic, snapshot, cancellationToken).ConfigureAwait(false);
        var timed = metrics.SendDuration.Enabled;
        var started = timed ? Stopwatch.GetTimestamp() : 0;

        using var activity = StartActivity(message, target);
        SendReceipt receipt;
        var failedOver = false;
        try
        {
            receipt = await SendToAsync(target, message, snapshot, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsClusterFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            var other = target.Other();
            if (!snapshot.FailoverEnabled)
            {
                Fail(ex, target, message.Topic, key, activity);
                throw;
            }

            if (!snapshot.Fleet.HasReaders(other) || (other == ClusterRole.New && IsFactsGuarded(snapshot) && !router.IsProvenOnNew(message.Topic, snapshot)))
            {
                ProducerLog.FailoverRefused(_logger, target, message.Topic, other, $"no consumer reads {other}" + (other == ClusterRole.New ? " with a proven position" : ""));
                Fail(ex, target, message.Topic, key, activity);
                throw;
            }

            ProducerLog.FailingOver(_logger, ex, target, message.Topic, other);
            metrics.Failovers.Add(1, DualClusterMetrics.Cluster(other));
            try
            {
                receipt = await SendToAsync(other, message, snapshot, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception failoverEx) when (IsClusterFailure(failoverEx))
            {
                Fail(failoverEx, other, message.Topic, key, activity);
                throw;
            }

            failedOver = true;
        }

        if (metrics.Sent.Enabled)
        {
            metrics.Sent.Add(1, DualClusterMetrics.Cluster(receipt.Cluster), DualClusterMetrics.Topic(message.Topic));
        }

        SendReceipt? mirror = null;
        if (snapshot.Plan.Mirror && !failedOver)
        {
            var other = target.Other();
            try
            {
                mirror = await SendToAsync(other, message, snapshot, cancellationToken).ConfigureAwait(false);
                metrics.Sent.Add(1, DualClusterMetrics.Cluster(other), DualClusterMetrics.Topic(message.Topic));
            }
            catch (Exception ex) when (IsClusterFailure(ex))
            {
                metrics.SendFailures.Add(1, DualClusterMetrics.Cluster(other), DualClusterMetrics.Topic(message.Topic));
                ProducerLog.MirrorFailed(_logger, ex, other, message.Topic, key);
            }
        }

        if (timed)
        {
            metrics.SendDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, DualClusterMetrics.Cluster(receipt.Cluster));
        }

        return new SendResult(receipt, key, failedOver, mirror);
    }

    private bool IsFactsGuarded(RoutingSnapshot snapshot) => monitor.Active && snapshot.Options.SafeOrderGuard;

    private ValueTask<SendReceipt> SendToAsync(ClusterRole role, OutgoingMessage message, RoutingSnapshot snapshot, CancellationToken cancellationToken)
    {
        // Counted as written before the attempt: a send that times out may still have been stored.
        fleetActivity.RecordWrite(message.Topic, role);
        var producer = transports.Get(role).Producer;
        var pipeline = pipelines.For(role, snapshot.Options.Resilience);
        return pipeline.ExecuteAsync(
            static (state, ct) => state.producer.SendAsync(state.message, ct),
            (producer, message),
            cancellationToken);
    }

    private void Fail(Exception ex, ClusterRole role, string topic, string key, Activity? activity)
    {
        metrics.SendFailures.Add(1, DualClusterMetrics.Cluster(role), DualClusterMetrics.Topic(topic));
        ProducerLog.SendFailed(_logger, ex, role, topic, key);
        activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
    }

    private static bool IsClusterFailure(Exception ex) =>
        ex is ClusterTransportException or BrokenCircuitException or TimeoutRejectedException;

    private static Activity? StartActivity(OutgoingMessage message, ClusterRole target)
    {
        var source = DualClusterTelemetry.ActivitySource;
        if (!source.HasListeners())
        {
            return null;
        }

        var activity = source.StartActivity($"send {message.Topic}", ActivityKind.Producer);
        if (activity is null)
        {
            return null;
        }

        activity.SetTag("messaging.system", "rocketmq");
        activity.SetTag("messaging.operation.type", "send");
        activity.SetTag("messaging.destination.name", message.Topic);
        activity.SetTag("dualcluster.cluster", target.ToString());
        if (activity.Id is { } id)
        {
            message.Properties[MessageProperties.TraceParent] = id;
            if (activity.TraceStateString is { Length: > 0 } state)
            {
                message.Properties[MessageProperties.TraceState] = state;
            }
        }

        return activity;
    }
}
