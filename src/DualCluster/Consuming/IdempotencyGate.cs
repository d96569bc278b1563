using System.Diagnostics;
using DualCluster.Idempotency;
using DualCluster.Telemetry;
using DualCluster.Transport;
using Microsoft.Extensions.Logging;

namespace DualCluster.Consuming;

/// <summary>
/// Runs a handler at most once per (group, idempotency key): claim → handle → complete, or release on
/// failure (design §2). Duplicates are acked and skipped; a key held elsewhere, or a store that cannot be
/// reached, leaves the message unacked for redelivery.
/// <para>
/// Every run is counted until it has completed or released its claim: <see cref="DisposeAsync"/> waits for the runs in
/// flight (so a host that stops never leaves a claim held that a run was about to complete or release), and only then
/// stops renewing leases.
/// </para>
/// </summary>
internal sealed class IdempotencyGate(IIdempotencyStore store, DualClusterMetrics metrics, ILogger logger, TimeProvider? time = null) : IAsyncDisposable, IDisposable
{
    private const int CompleteAttempts = 3;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly LeaseKeeper _leases = new(store, time ?? TimeProvider.System, metrics);
    private readonly InFlightRuns _runs = new();

    /// <summary>The store claims go to.</summary>
    public IIdempotencyStore Store => store;

    /// <summary>Runs still between their claim and its completion or release.</summary>
    public int InFlight => _runs.Count;

    public async ValueTask<ConsumeOutcome> RunAsync(
        ReceivedMessage message,
        string group,
        IdempotencyOptions options,
        Func<ReceivedMessage, string?>? keySelector,
        Func<string, long, CancellationToken, Task> handle,
        CancellationToken cancellationToken,
        TimeSpan? maxHold = null,
        int maxDeliveryAttempts = int.MaxValue)
    {
        _runs.Enter();
        try
        {
            return await RunCoreAsync(message, group, options, keySelector, handle, maxHold ?? options.StoreOutageHold, maxDeliveryAttempts, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _runs.Exit();
        }
    }

    private async ValueTask<ConsumeOutcome> RunCoreAsync(
        ReceivedMessage message,
        string group,
        IdempotencyOptions options,
        Func<ReceivedMessage, string?>? keySelector,
        Func<string, long, CancellationToken, Task> handle,
        TimeSpan maxHold,
        int maxDeliveryAttempts,
        CancellationToken cancellationToken)
    {
        var key = message.IdempotencyKey ?? keySelector?.Invoke(message) ?? message.MessageId;
        var cluster = DualClusterMetrics.Cluster(message.Cluster);
        var groupTag = DualClusterMetrics.Group(group);
        if (!options.Enabled)
        {
            return await HandleAsync(key, 0, message, group, handle, maxDeliveryAttempts, cancellationToken).ConfigureAwait(false);
        }

        var storeKey = group + ":" + key;
        // Not cancellable: a store may record the claim and only then notice a cancelled token, and a claim nobody
        // knows the fencing token of stays held for a whole lease. The store's own timeouts bound each call; a stop
        // that arrives meanwhile is honoured below by releasing what was won.
        var outageHold = options.StoreOutageHold < maxHold ? options.StoreOutageHold : maxHold;
        var claim = await ClaimAsync(message, storeKey, group, key, options, outageHold, cancellationToken).ConfigureAwait(false);
        if (claim is null)
        {
            metrics.Postponed.Add(1, cluster, groupTag);
            return ConsumeOutcome.Retry(Postponement(options, message.DeliveryAttempt));
        }

        if (claim.Value.PayloadMismatch)
        {
            metrics.PayloadMismatches.Add(1, cluster, groupTag);
            ConsumerLog.PayloadMismatch(logger, group, key, message.Cluster, message.MessageId);
        }

        switch (claim.Value.Status)
        {
            case ClaimStatus.Completed:
                metrics.Duplicates.Add(1, cluster, groupTag, DualClusterMetrics.Topic(message.Topic));
                ConsumerLog.DuplicateSkipped(logger, group, key, message.Cluster, message.DeliveryAttempt);
                return ConsumeOutcome.Ack;
            case ClaimStatus.HeldElsewhere:
                metrics.Postponed.Add(1, cluster, groupTag);
                return ConsumeOutcome.Retry(Postponement(options, message.DeliveryAttempt));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // Stopping: give the claim back at once so the redelivered copy does not wait out the lease.
            await ReleaseAsync(storeKey, claim.Value.FencingToken, group, key).ConfigureAwait(false);
            return ConsumeOutcome.Retry(TimeSpan.Zero);
        }

        // The lease is renewed while the handler runs and while its completion is retried.
        using var hold = _leases.Hold(storeKey, claim.Value.FencingToken, options.Lease, group);
        var outcome = await HandleAsync(key, claim.Value.FencingToken, message, group, handle, maxDeliveryAttempts, cancellationToken).ConfigureAwait(false);
        if (!outcome.Acknowledge)
        {
            hold.Dispose();
            await ReleaseAsync(storeKey, claim.Value.FencingToken, group, key).ConfigureAwait(false);
            return outcome;
        }

        var completing = _time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (!await store.CompleteAsync(storeKey, claim.Value.FencingToken, options.Retention, CancellationToken.None).ConfigureAwait(false))
                {
                    ConsumerLog.LeaseLost(logger, group, key, options.Lease);
                }

                break;
            }
            catch (Exception ex) when (attempt < CompleteAttempts || _time.GetElapsedTime(completing) < options.Lease)
            {
                // The handler ran: keep trying while the claim can still be completed (a store outage must not leave
                // the key unrecorded, or a second copy of the message would run the handler again). The lease keeper
                // renews the claim as soon as the store answers again; once the claim is truly lost the store itself
                // answers false, so trying for up to a whole lease costs nothing but this message's slot.
                metrics.StoreErrors.Add(1, groupTag);
                ConsumerLog.StoreUnavailable(logger, ex, group, key);
                if (attempt >= CompleteAttempts)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(500, 10 << Math.Min(attempt - CompleteAttempts, 6))), _time, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                // The handler ran: ack so this copy is not processed again; without the record a second copy
                // (mirror, producer retry) could be, so say so loudly.
                metrics.StoreErrors.Add(1, groupTag);
                ConsumerLog.CompleteFailed(logger, ex, group, key);
                break;
            }
        }

        return ConsumeOutcome.Ack;
    }

    /// <summary>
    /// How long to postpone a message whose key is held elsewhere (or whose store is unreachable). Every postponement
    /// is a delivery attempt, so the delay doubles with the attempt (up to 32 × the base, and at most the lease):
    /// a key held by a crashed node must lapse long before the broker dead-letters the message (found by the
    /// rehearsal's 1 M soak: a copy postponed 16 times at a fixed 200 ms went to the dead-letter queue unhandled).
    /// </summary>
    internal static TimeSpan Postponement(IdempotencyOptions options, int deliveryAttempt)
    {
        var baseDelay = options.HeldElsewhereRetryDelay;
        var delay = baseDelay * (1 << Math.Clamp(deliveryAttempt - 1, 0, 5));
        var cap = options.Lease > baseDelay ? options.Lease : baseDelay;
        return delay < cap ? delay : cap;
    }

    /// <summary>
    /// Claims the key; while the store cannot be reached, keeps the message in hand and tries again with back-off for
    /// up to <paramref name="hold"/>: <see cref="IdempotencyOptions.StoreOutageHold"/>, at most half the consumer's
    /// invisible duration, so the broker does not hand the message to another node meanwhile (no delivery attempt is spent). Null when the
    /// store stayed unreachable (or the consumer is stopping): the message is then handed back.
    /// </summary>
    private async ValueTask<IdempotencyClaim?> ClaimAsync(ReceivedMessage message, string storeKey, string group, string key, IdempotencyOptions options, TimeSpan hold, CancellationToken cancellationToken)
    {
        long outageStarted = 0;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return options.ValidatePayload
                    ? await store.TryClaimAsync(IdempotencyClaimRequest.ForPayload(storeKey, message.Body.Span), options.Lease, CancellationToken.None).ConfigureAwait(false)
                    : await store.TryClaimAsync(storeKey, options.Lease, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                metrics.StoreErrors.Add(1, DualClusterMetrics.Group(group));
                if (attempt == 0)
                {
                    outageStarted = _time.GetTimestamp();
                    ConsumerLog.StoreUnavailable(logger, ex, group, key);
                }
            }

            var delay = TimeSpan.FromMilliseconds(Math.Min(2_000, 100 << Math.Min(attempt, 5)));
            if (cancellationToken.IsCancellationRequested || _time.GetElapsedTime(outageStarted) + delay > hold)
            {
                return null;
            }

            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }

    private async ValueTask ReleaseAsync(string storeKey, long fencingToken, string group, string key)
    {
        try
        {
            await store.ReleaseAsync(storeKey, fencingToken, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The lease expires by itself; the redelivery waits for it.
            metrics.StoreErrors.Add(1, DualClusterMetrics.Group(group));
            ConsumerLog.StoreUnavailable(logger, ex, group, key);
        }
    }

    /// <summary>Waits until no run is between its claim and that claim's completion or release (or the token fires).</summary>
    public Task WaitIdleAsync(CancellationToken cancellationToken = default) => _runs.WaitIdleAsync(cancellationToken);

    /// <summary>Waits for the runs in flight to complete or release their claims, then stops renewing leases.</summary>
    public async ValueTask DisposeAsync()
    {
        // Runs whose handlers ignore cancellation could hold this forever; their leases lapse by themselves after the
        // lease keeper stops, so the wait is bounded by one lease renewal period.
        using var bound = new CancellationTokenSource(DisposeWait, _time);
        try
        {
            await _runs.WaitIdleAsync(bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ConsumerLog.GateDisposedWithRunsInFlight(logger, _runs.Count);
        }

        _leases.Dispose();
    }

    /// <summary>Stops renewing leases without waiting (for containers disposed synchronously; hosts dispose asynchronously).</summary>
    public void Dispose() => _leases.Dispose();

    /// <summary>How long disposal waits for runs in flight.</summary>
    internal static readonly TimeSpan DisposeWait = TimeSpan.FromSeconds(30);

    private async ValueTask<ConsumeOutcome> HandleAsync(
        string key,
        long token,
        ReceivedMessage message,
        string group,
        Func<string, long, CancellationToken, Task> handle,
        int maxDeliveryAttempts,
        CancellationToken cancellationToken)
    {
        var timed = metrics.HandleDuration.Enabled;
        var started = timed ? Stopwatch.GetTimestamp() : 0;
        var cluster = DualClusterMetrics.Cluster(message.Cluster);
        using var activity = StartActivity(message, group);
        try
        {
            await handle(key, token, cancellationToken).ConfigureAwait(false);
            if (metrics.Consumed.Enabled)
            {
                metrics.Consumed.Add(1, cluster, DualClusterMetrics.Group(group), DualClusterMetrics.Topic(message.Topic));
            }

            return ConsumeOutcome.Ack;
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            if (!cancellationToken.IsCancellationRequested)
            {
                metrics.HandlerFailures.Add(1, cluster, DualClusterMetrics.Group(group));
                if (message.DeliveryAttempt >= maxDeliveryAttempts)
                {
                    // Not "will be redelivered": the broker dead-letters it (the consumer reports that).
                    ConsumerLog.HandlerFailedLastAttempt(logger, ex, group, key, message.Cluster, message.DeliveryAttempt, maxDeliveryAttempts);
                }
                else
                {
                    ConsumerLog.HandlerFailed(logger, ex, group, key, message.Cluster, message.DeliveryAttempt);
                }
            }

            return ConsumeOutcome.Retry();
        }
        finally
        {
            if (timed)
            {
                metrics.HandleDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, cluster);
            }
        }
    }

    private static Activity? StartActivity(ReceivedMessage message, string group)
    {
        var source = DualClusterTelemetry.ActivitySource;
        if (!source.HasListeners())
        {
            return null;
        }

        message.Properties.TryGetValue(MessageProperties.TraceParent, out var parent);
        message.Properties.TryGetValue(MessageProperties.TraceState, out var state);
        ActivityContext.TryParse(parent, state, out var parentContext);
        var activity = source.StartActivity($"process {message.Topic}", ActivityKind.Consumer, parentContext);
        activity?.SetTag("messaging.system", "rocketmq");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.destination.name", message.Topic);
        activity?.SetTag("messaging.consumer.group.name", group);
        activity?.SetTag("messaging.message.id", message.MessageId);
        activity?.SetTag("dualcluster.cluster", message.Cluster.ToString());
        return activity;
    }
}
