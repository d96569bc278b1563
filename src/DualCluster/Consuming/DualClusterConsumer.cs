using DualCluster.Fleet;
using DualCluster.Idempotency;
using DualCluster.Routing;
using DualCluster.Telemetry;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DualCluster.Consuming;

/// <summary>
/// The consumer facade of one registration: reads the clusters this node's routing targets, through the
/// idempotency gate. On a routing change it starts the newly targeted cluster's consumer first, then stops
/// the one no longer targeted (make-before-break). A cluster that no other consumer will read is drained
/// first: the node keeps reading it until its backlog for the group is zero and no producer writes it.
/// All changes run on one loop, so they never overlap.
/// <para>
/// Stop contract: <see cref="StopAsync"/> first lets the loop finish what it is doing (a switch in progress stops
/// its cluster gracefully, exactly as the final stop does), then stops every cluster still read, then waits until no
/// handler run is between its claim and that claim's completion or release. Only the host's token turns any of
/// this into a forced stop, and a forced stop never settles an unknown outcome.
/// </para>
/// </summary>
internal sealed class DualClusterConsumer : IHostedService, IAsyncDisposable, IDisposable
{
    private readonly ConsumerRegistration _registration;
    private readonly RoutingState _routing;
    private readonly ClusterTransports _transports;
    private readonly IdempotencyGate _gate;
    private readonly IServiceScopeFactory _scopes;
    private readonly TimeProvider _time;
    private readonly DualClusterMetrics _metrics;
    private readonly FleetMonitor _fleet;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _signal = new(0);
    private readonly IClusterConsumer?[] _active = new IClusterConsumer?[2];
    private readonly long[] _drainedSince = new long[2];
    private readonly object _statusGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _forced = new();
    private readonly InFlightRuns _runs = new();
    private ClusterSet _draining;
    private int _positioned;
    private ConsumerStatus _status;
    private DeadLetteredMessage? _lastDeadLetter;
    private ITimer? _recheck;
    private Task? _loop;
    private int _disposed;
    private long _storeWarnedVersion;

    public DualClusterConsumer(
        ConsumerRegistration registration,
        RoutingState routing,
        ClusterTransports transports,
        IdempotencyGate gate,
        IServiceScopeFactory scopes,
        TimeProvider time,
        DualClusterMetrics metrics,
        FleetMonitor fleet,
        ILogger logger)
    {
        _registration = registration;
        _routing = routing;
        _transports = transports;
        _gate = gate;
        _scopes = scopes;
        _time = time;
        _metrics = metrics;
        _fleet = fleet;
        _logger = logger;
        var subscription = registration.Subscription;
        _status = new ConsumerStatus(subscription.Group, subscription.Topic, routing.Current.Plan.ConsumerTargets, ClusterSet.None, ClusterSet.None, ConsumerPhase.Stopped, null, null);
    }

    /// <summary>Raised after each reconciliation with the new status (tests and dashboards wait on it).</summary>
    public event Action<ConsumerStatus>? Reconciled;

    public ConsumerStatus Status
    {
        get
        {
            lock (_statusGate)
            {
                return _status;
            }
        }
    }

    public ConsumerSubscription Subscription => _registration.Subscription;

    /// <summary>
    /// This registration's entry in the node's fleet record: where it reads, where its transports proved a position of the
    /// group (sticky: the cluster keeps the position after a stop), and what it drains.
    /// </summary>
    public FleetConsumer FleetRecord
    {
        get
        {
            var reading = ClusterSet.None;
            foreach (var role in Roles)
            {
                if (Volatile.Read(ref _active[(int)role]) is { } consumer)
                {
                    reading |= role.ToSet();
                    if (consumer.IsPositioned)
                    {
                        Interlocked.Or(ref _positioned, (int)role.ToSet());
                    }
                }
            }

            var status = Status;
            return new FleetConsumer(Subscription.Group, Subscription.Topic, reading, (ClusterSet)Volatile.Read(ref _positioned), status.Draining)
            {
                Targets = _routing.Current.Plan.ConsumerTargets,
            };
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _routing.Changed += OnRoutingChanged;
        await ReconcileAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _routing.Changed -= OnRoutingChanged;

        // The loop's own stops of a cluster stay graceful: only the host's token forces them.
        using var forcing = cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), _forced);
        await _stopping.CancelAsync().ConfigureAwait(false);
        _recheck?.Dispose();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        var stops = new List<Task>();
        for (var i = 0; i < _active.Length; i++)
        {
            if (_active[i] is { } consumer)
            {
                stops.Add(StopConsumerAsync((ClusterRole)i, consumer, cancellationToken));
            }
        }

        await Task.WhenAll(stops).ConfigureAwait(false);
        await WaitForRunsAsync(cancellationToken).ConfigureAwait(false);
        SetDraining(ClusterSet.None);
        Publish(null, null);
    }

    /// <summary>
    /// Waits until every handler run of this registration has completed or released its claim. After a forced stop
    /// the runs were told to stop; they are given <see cref="ForcedStopGrace"/> more to give their claims back.
    /// </summary>
    private async Task WaitForRunsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _runs.WaitIdleAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        using var grace = new CancellationTokenSource(ForcedStopGrace, _time);
        try
        {
            await _runs.WaitIdleAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ConsumerLog.GateDisposedWithRunsInFlight(_logger, _runs.Count);
        }
    }

    /// <summary>How long a forced stop still waits for cancelled handler runs to give their claims back.</summary>
    internal static readonly TimeSpan ForcedStopGrace = TimeSpan.FromSeconds(5);

    private void OnRoutingChanged(RoutingSnapshot previous, RoutingSnapshot next) => _signal.Release();

    private async Task LoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Coalesce a burst of signals into one pass.
            while (_signal.CurrentCount > 0 && _signal.Wait(0))
            {
            }

            try
            {
                await ReconcileAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Reconciliation must outlive any one failure: report it and try again at the next check.
                ConsumerLog.ReconcileFailed(_logger, ex, Subscription.Group, Subscription.Topic);
                Publish(null, ex.Message);
                ScheduleRecheck(_routing.Current.Options.Consumer.DrainCheckInterval);
            }
        }
    }

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var snapshot = _routing.Current;
        var targets = snapshot.Plan.ConsumerTargets;
        if (snapshot.Version != _storeWarnedVersion && FleetStoreCheck.Warning(_gate.Store, snapshot) is { } storeWarning)
        {
            _storeWarnedVersion = snapshot.Version;
            ConsumerLog.FleetStoreNeeded(_logger, Subscription.Group, Subscription.Topic, storeWarning);
        }

        string? error = null;
        string? drainReason = null;
        BacklogReport? backlog = null;

        // Make: start every targeted cluster before anything is stopped.
        foreach (var role in Roles)
        {
            if (targets.Contains(role) && _active[(int)role] is null)
            {
                try
                {
                    await StartConsumerAsync(role, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    ConsumerLog.StartFailed(_logger, ex, Subscription.Group, Subscription.Topic, role);
                    error = $"{role}: {ex.Message}";
                }
            }
        }

        var draining = ClusterSet.None;
        var startedAll = Roles.All(r => !targets.Contains(r) || _active[(int)r] is not null);
        foreach (var role in Roles)
        {
            if (targets.Contains(role))
            {
                continue;
            }

            // A cluster nobody else will read is drained before this node leaves it. Old is checked even on a
            // fresh start (the node may replace one that read it); New only when this node was reading it
            // (a rollback), so a new cluster that is not set up yet is never probed at step 1.
            // With the safe-order guard switched off (rehearsals that demonstrate loss) nothing is drained either.
            var reading = _active[(int)role] is not null;
            var mustDrain = snapshot.Options.SafeOrderGuard
                && !OthersStayOn(role, snapshot)
                && (reading || (role == ClusterRole.Old && _transports.IsConfigured(role, snapshot.Options)));
            if (!mustDrain)
            {
                // Others keep reading this cluster (or it no longer exists): break once the target side runs.
                if (_active[(int)role] is { } leaving && startedAll)
                {
                    await StopConsumerAsync(role, leaving, _forced.Token).ConfigureAwait(false);
                }

                continue;
            }

            var (drained, report, reason, checkFailed) = await CheckDrainedAsync(role, snapshot, cancellationToken).ConfigureAwait(false);
            backlog = report ?? backlog;
            if (!drained)
            {
                _drainedSince[(int)role] = 0;
            }
            else if (DrainGracePeriod(snapshot) is var grace && grace > TimeSpan.Zero)
            {
                // Sends that picked this cluster under the previous routing may still land: stay until the backlog
                // has read zero for the whole grace period (every recheck in between must find it drained too).
                if (_drainedSince[(int)role] == 0)
                {
                    _drainedSince[(int)role] = _time.GetTimestamp();
                }

                var waited = _time.GetElapsedTime(_drainedSince[(int)role]);
                if (waited < grace)
                {
                    drained = false;
                    reason = $"drained for {waited.TotalSeconds:0.#} s of the {grace.TotalSeconds:0.#} s grace period";
                }
            }

            if (drained && startedAll)
            {
                if (_active[(int)role] is { } leaving)
                {
                    await StopConsumerAsync(role, leaving, _forced.Token).ConfigureAwait(false);
                }

                continue;
            }

            draining |= role.ToSet();
            drainReason = $"{role}: {reason}";
            ConsumerLog.Draining(_logger, Subscription.Group, Subscription.Topic, role, reason);
            if (checkFailed)
            {
                // The check itself failed: the reason is what the operator needs to see in the status.
                error ??= $"draining {role}: {reason}";
            }
            if (_active[(int)role] is null)
            {
                try
                {
                    await StartConsumerAsync(role, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    ConsumerLog.StartFailed(_logger, ex, Subscription.Group, Subscription.Topic, role);
                    error ??= $"{role}: {ex.Message}";
                }
            }
        }

        SetDraining(draining);
        if (draining != ClusterSet.None || error is not null)
        {
            ScheduleRecheck(snapshot.Options.Consumer.DrainCheckInterval);
        }

        Publish(backlog, error, drainReason);
    }

    /// <returns>Whether the cluster is drained, the report it was judged on, why, and whether the check itself failed.</returns>
    private async Task<(bool Drained, BacklogReport? Report, string Reason, bool CheckFailed)> CheckDrainedAsync(ClusterRole role, RoutingSnapshot snapshot, CancellationToken cancellationToken)
    {
        var mayWrite = role == ClusterRole.Old ? snapshot.Fleet.MayWriteOld : snapshot.Fleet.MayWriteNew;
        if (mayWrite)
        {
            return (false, null, $"producers may still write {role}", false);
        }

        if (_fleet.Active)
        {
            var facts = _fleet.Current;
            if (!facts.Available)
            {
                return (false, null, $"fleet facts unavailable ({facts.Error ?? "the registry was not read yet"}): staying until they are back", true);
            }

            var writers = facts.WritersOf(Subscription.Topic, role);
            if (writers.Count > 0)
            {
                return (false, null, $"node(s) {string.Join(", ", writers)} sent topic '{Subscription.Topic}' to {role} within the last {snapshot.Options.Fleet.WriteWindow.TotalSeconds:0.#} s", false);
            }
        }

        BacklogReport report;
        try
        {
            report = await _transports.Get(role).BacklogProbe.GetBacklogAsync(Subscription.Group, Subscription.Topic, cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterTransportException ex) when (ex.MissingTopic is { } missing)
        {
            // Facts, not assumptions: the cluster says the topic does not exist. That is also what a 4.x name server
            // answers while every broker of the topic is down, with their backlog still on disk, so it is no proof
            // of an empty topic. Stay, and say what the operator can do.
            if (role == ClusterRole.Old && snapshot.Options.Consumer.AssumeOldDrainedWhenUnknown)
            {
                return (true, null, $"topic '{missing}' does not exist on {role}; assumed drained by configuration", false);
            }

            var reason = $"{role} answers that topic '{missing}' does not exist, so its backlog cannot be read. If the topic was never "
                + $"created on {role}, create it there (the backlog then reads 0 and this node leaves) or, after checking with the broker's "
                + $"tools, set DualCluster:Consumer:AssumeOldDrainedWhenUnknown=true; if {role}'s brokers are down, bring them back: "
                + "their messages are not visible until then.";
            ConsumerLog.TopicMissing(_logger, Subscription.Group, Subscription.Topic, role, reason);
            return (false, null, reason, true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ConsumerLog.DrainCheckFailed(_logger, ex, Subscription.Group, Subscription.Topic, role);
            return (false, null, $"backlog unknown ({ex.Message})", true);
        }

        if (report.IsDrained)
        {
            return (true, report, "drained", false);
        }

        // Unknown figures may hide work; only when every known figure (per-queue lag included) is zero may the
        // operator's explicit override count the unknown as drained.
        var unknownOnly = report.KnownTotal == 0 && report.QueueLag is null or 0;
        if (unknownOnly && snapshot.Options.Consumer.AssumeOldDrainedWhenUnknown)
        {
            return (true, report, "backlog unknown, assumed drained by configuration", false);
        }

        return (false, report, $"backlog {report}", false);
    }

    /// <summary>
    /// Whether another node reads <paramref name="role"/> for this group and stays there, so this node may leave it without
    /// draining. With a fleet registry: a live node that reads it now and that both its own routing and this node's keep
    /// there (facts unavailable: nobody, so the node stays and drains). Without one: the configuration.
    /// </summary>
    private bool OthersStayOn(ClusterRole role, RoutingSnapshot snapshot)
    {
        if (!_fleet.Active)
        {
            return snapshot.Fleet.HasReaders(role);
        }

        var facts = _fleet.Current;
        return facts.Available && facts.OthersStayOn(Subscription.Group, Subscription.Topic, role, _routing.NodeId, snapshot.Options);
    }

    /// <summary>
    /// How long a cluster must read drained before the last consumers leave it. On facts, at least two heartbeats: a send
    /// made just after a producer's heartbeat shows in the registry only with its next one.
    /// </summary>
    private TimeSpan DrainGracePeriod(RoutingSnapshot snapshot)
    {
        var configured = snapshot.Options.Consumer.DrainGracePeriod;
        var heartbeats = 2 * snapshot.Options.Fleet.HeartbeatInterval;
        return _fleet.Active && heartbeats > configured ? heartbeats : configured;
    }

    private async Task StartConsumerAsync(ClusterRole role, CancellationToken cancellationToken)
    {
        var consumer = _transports.Get(role).CreateConsumer(Subscription, HandleAsync);
        try
        {
            await consumer.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _active[(int)role] = consumer;
        ConsumerLog.Started(_logger, Subscription.Group, Subscription.Topic, role);
    }

    /// <summary>Stops one cluster's consumer; a failure is logged (its unsettled messages are redelivered), never thrown.</summary>
    private async Task StopConsumerAsync(ClusterRole role, IClusterConsumer consumer, CancellationToken cancellationToken)
    {
        _active[(int)role] = null;
        try
        {
            await consumer.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ConsumerLog.StopFailed(_logger, ex, Subscription.Group, Subscription.Topic, role);
        }

        try
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ConsumerLog.StopFailed(_logger, ex, Subscription.Group, Subscription.Topic, role);
        }

        ConsumerLog.Stopped(_logger, Subscription.Group, Subscription.Topic, role);
    }

    private async ValueTask<ConsumeOutcome> HandleAsync(ReceivedMessage message, CancellationToken cancellationToken)
    {
        _runs.Enter();
        try
        {
            var lastAttempt = message.DeliveryAttempt >= Subscription.MaxDeliveryAttempts;
            string? handledKey = null;
            Exception? failure = null;
            var outcome = await _gate.RunAsync(
                message,
                Subscription.Group,
                _routing.Current.Options.Idempotency,
                _registration.KeySelector,
                lastAttempt
                    ? async (key, token, ct) =>
                    {
                        handledKey = key;
                        try
                        {
                            await InvokeHandlerAsync(message, key, token, ct).ConfigureAwait(false);
                        }
                        catch (Exception ex)
                        {
                            failure = ex;
                            throw;
                        }
                    }
                    : (key, token, ct) => InvokeHandlerAsync(message, key, token, ct),
                cancellationToken,
                Subscription.InvisibleDuration / 2,
                Subscription.MaxDeliveryAttempts).ConfigureAwait(false);
            if (lastAttempt && !outcome.Acknowledge)
            {
                await DeadLetteredAsync(message, handledKey, failure, cancellationToken).ConfigureAwait(false);
            }

            return outcome;
        }
        finally
        {
            _runs.Exit();
        }
    }

    /// <summary>
    /// The last delivery attempt was not processed: the broker moves the message to the dead-letter queue. Says so in the
    /// log, the metric and the status, and lets the application observe it while the message is still in hand.
    /// </summary>
    private async Task DeadLetteredAsync(ReceivedMessage message, string? key, Exception? failure, CancellationToken cancellationToken)
    {
        key ??= message.IdempotencyKey ?? _registration.KeySelector?.Invoke(message) ?? message.MessageId;
        var reason = failure is not null ? $"{failure.GetType().Name}: {failure.Message}"
            : cancellationToken.IsCancellationRequested ? "the consumer was stopping"
            : "the handler did not run: the key was held by another node or the idempotency store was unreachable";
        var deadLetter = new DeadLetteredMessage(Subscription.Group, Subscription.Topic, message.Cluster, message.MessageId, key, message.DeliveryAttempt, reason, _time.GetUtcNow())
        {
            Message = message,
        };
        _metrics.DeadLettered.Add(1, DualClusterMetrics.Cluster(message.Cluster), DualClusterMetrics.Group(Subscription.Group), DualClusterMetrics.Topic(Subscription.Topic));
        ConsumerLog.DeadLettered(_logger, Subscription.Group, Subscription.Topic, key, message.MessageId, message.Cluster, message.DeliveryAttempt, Subscription.MaxDeliveryAttempts, reason);
        lock (_statusGate)
        {
            _lastDeadLetter = deadLetter;
            _status = _status with { LastDeadLetter = deadLetter };
        }

        if (_registration.OnDeadLetter is { } observe)
        {
            try
            {
                await observe(deadLetter, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                ConsumerLog.DeadLetterCallbackFailed(_logger, ex, Subscription.Group, Subscription.Topic, key);
            }
        }
    }

    private async Task InvokeHandlerAsync(ReceivedMessage message, string key, long token, CancellationToken cancellationToken)
    {
        var scope = _scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            var context = new MessageContext(message, Subscription.Group, key, token, _routing.NodeId, scope.ServiceProvider);
            await _registration.Handle(scope.ServiceProvider, context, cancellationToken).ConfigureAwait(false);
        }
    }

    private void ScheduleRecheck(TimeSpan interval)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _recheck ??= _time.CreateTimer(static s => ((DualClusterConsumer)s!)._signal.Release(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _recheck.Change(interval, Timeout.InfiniteTimeSpan);
    }

    private void SetDraining(ClusterSet draining)
    {
        var before = _draining;
        _draining = draining;
        var delta = Count(draining) - Count(before);
        if (delta != 0)
        {
            _metrics.Draining.Add(delta, DualClusterMetrics.Group(Subscription.Group));
        }

        static int Count(ClusterSet s) => (s.Contains(ClusterRole.Old) ? 1 : 0) + (s.Contains(ClusterRole.New) ? 1 : 0);
    }

    private void Publish(BacklogReport? backlog, string? error, string? drainReason = null)
    {
        var reading = ClusterSet.None;
        foreach (var role in Roles)
        {
            if (_active[(int)role] is not null)
            {
                reading |= role.ToSet();
            }
        }

        var phase = _draining != ClusterSet.None ? ConsumerPhase.Draining
            : reading switch
            {
                ClusterSet.Old => ConsumerPhase.Old,
                ClusterSet.New => ConsumerPhase.New,
                ClusterSet.Both => ConsumerPhase.Both,
                _ => ConsumerPhase.Stopped,
            };
        ConsumerStatus status;
        lock (_statusGate)
        {
            status = _status = new ConsumerStatus(
                Subscription.Group, Subscription.Topic, _routing.Current.Plan.ConsumerTargets, reading, _draining, phase, backlog ?? _status.LastBacklog, error)
            {
                LastDeadLetter = _lastDeadLetter,
                DrainReason = _draining != ClusterSet.None ? drainReason : null,
            };
        }

        if (Reconciled is { } subscribers)
        {
            foreach (var subscriber in subscribers.GetInvocationList())
            {
                try
                {
                    ((Action<ConsumerStatus>)subscriber)(status);
                }
                catch (Exception ex)
                {
                    ConsumerLog.SubscriberFailed(_logger, ex, Subscription.Group, Subscription.Topic);
                }
            }
        }
    }

    private static readonly ClusterRole[] Roles = [ClusterRole.Old, ClusterRole.New];

    /// <summary>
    /// For containers disposed synchronously. Does not block on asynchronous work: consumers still running (the host
    /// never called <see cref="StopAsync"/>) are forced to stop in the background, settling nothing unknown.
    /// </summary>
    public void Dispose()
    {
        if (_active.All(c => c is null))
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _routing.Changed -= OnRoutingChanged;
                _forced.Cancel();
                _stopping.Cancel();
                _recheck?.Dispose();
            }

            return;
        }

        _ = DisposeAsync().AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _routing.Changed -= OnRoutingChanged;
        await _forced.CancelAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        _recheck?.Dispose();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        for (var i = 0; i < _active.Length; i++)
        {
            if (_active[i] is { } consumer)
            {
                await StopConsumerAsync((ClusterRole)i, consumer, _forced.Token).ConfigureAwait(false);
            }
        }
    }
}
