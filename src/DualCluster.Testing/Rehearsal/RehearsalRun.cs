using DualCluster.Fleet;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using DualCluster.Idempotency;
using DualCluster.Routing;
using Microsoft.Extensions.Configuration;

namespace DualCluster.Testing;

/// <summary>
/// The state and the driver of one rehearsal: brokers, shared store, fleet configuration, nodes, traffic, ledger.
/// Faults act on the run through its members.
/// </summary>
internal sealed class RehearsalRun : IAsyncDisposable
{
    public const int BodySize = 16;

    private readonly object _nodes = new();
    private readonly List<RehearsalNode> _producers = [];
    private readonly List<RehearsalNode> _consumers = [];
    private readonly List<RehearsalNode> _retired = [];
    private readonly List<ConcurrentQueue<string>> _notes = [];
    private readonly SemaphoreSlim _configuration = new(1, 1);
    private readonly InMemoryIdempotencyStore? _ownedStore;
    private readonly long[] _milestones;
    private IReadOnlyDictionary<string, string?> _target = new Dictionary<string, string?>();
    private readonly Dictionary<string, string?> _clusterSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["DualCluster:Clusters:Old:Protocol"] = "InMemory",
        ["DualCluster:Clusters:New:Protocol"] = "InMemory",
    };
    private bool _clustersStarted;
    private TaskCompletionSource? _holdOld;
    private long _duplicatesSuppressed;
    private int _stepIndex;
    private int _stormIds;

    public RehearsalRun(RehearsalOptions options)
    {
        Options = options;
        Old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old", Seed = options.Seed });
        New = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new", Seed = options.Seed + 1 });
        Ledger = new RehearsalLedger(options.Messages, options.KeepEffectHistory ?? options.Messages <= RehearsalLedger.HistoryLimit);
        Store = options.IdempotencyStore ?? (_ownedStore = new InMemoryIdempotencyStore());
        FleetRegistry = options.ConfigOnlyGuard ? null : options.FleetRegistry ?? (OwnedFleetRegistry = new InMemoryFleetRegistry());
        Group = "rehearsal-" + Guid.NewGuid().ToString("N")[..12];
        Traffic = new RehearsalTraffic(options.Messages, options.MessagesPerSecond);
        TransportOptions = new InMemoryTransportOptions
        {
            RetryBackoff = static attempt => TimeSpan.FromMilliseconds(100 * Math.Clamp(attempt, 1, 10)),
            PollTimeout = TimeSpan.FromSeconds(1),
            FetchErrorDelay = TimeSpan.FromMilliseconds(50),
            DisposeTimeout = TimeSpan.FromSeconds(5),
        };
        var steps = options.Plan.Count;
        _milestones = [.. Enumerable.Range(0, steps + 1).Select(i => (long)options.Messages * i / steps)];
        for (var i = 0; i < steps; i++)
        {
            _notes.Add(new ConcurrentQueue<string>());
        }
    }

    public RehearsalOptions Options { get; }

    public InMemoryBroker Old { get; }

    public InMemoryBroker New { get; }

    public RehearsalLedger Ledger { get; }

    public RehearsalFleetConfiguration Fleet { get; } = new();

    public IIdempotencyStore Store { get; }

    /// <summary>The registry the nodes share; null when the guard decides on the configuration only.</summary>
    public IFleetRegistry? FleetRegistry { get; }

    /// <summary>The in-memory registry the run created (faults make it unavailable); null when the user supplied one.</summary>
    public InMemoryFleetRegistry? OwnedFleetRegistry { get; }

    public StoreSwitch StoreOutage { get; } = new();

    /// <summary>Down while the registry-outage fault holds the fleet registry unreachable.</summary>
    public StoreSwitch RegistryOutage { get; } = new();

    public string Group { get; }

    public RehearsalTraffic Traffic { get; }

    public InMemoryTransportOptions TransportOptions { get; }

    public LatencyHistogram HandlerLatency { get; } = new();

    /// <summary>Shared configuration keys set by faults (laid over the defaults, under the user's <see cref="RehearsalOptions.Settings"/>).</summary>
    public Dictionary<string, string?> FaultSettings { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Each node's clock offset (the clock-skew fault sets it).</summary>
    public Func<string, TimeSpan>? ClockOffsets { get; set; }

    public IReadOnlyList<RehearsalNode> LiveConsumers
    {
        get
        {
            lock (_nodes)
            {
                return [.. _consumers];
            }
        }
    }

    private IReadOnlyList<RehearsalNode> LiveNodes
    {
        get
        {
            lock (_nodes)
            {
                return [.. _producers, .. _consumers];
            }
        }
    }

    public InMemoryBroker Broker(ClusterRole role) => role == ClusterRole.Old ? Old : New;

    public TimeSpan ClockOffsetOf(string nodeId) => ClockOffsets?.Invoke(nodeId) ?? TimeSpan.Zero;

    public void Note(string text) =>
        _notes[Math.Clamp(Volatile.Read(ref _stepIndex), 0, _notes.Count - 1)].Enqueue(
            string.Create(CultureInfo.InvariantCulture, $"{Traffic.Elapsed.TotalMilliseconds,6:0} ms {text}"));

    public string NextStormNodeId(Random random) =>
        string.Create(CultureInfo.InvariantCulture, $"consumer-storm-{Interlocked.Increment(ref _stormIds)}-{random.Next(1000)}");

    // ------------------------------------------------------------------ the run

    public async Task<RehearsalResult> RunAsync(Action<RehearsalStepReport>? onStep, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var meters = ListenToDuplicates();
        var plan = Options.Plan;
        var faults = Options.Faults.ToArray();
        foreach (var fault in faults)
        {
            fault.Prepare(this);
        }

        var reports = new List<RehearsalStepReport>();
        var applied = new bool[plan.Count];
        var faultTasks = new List<Task>();
        string? rejection = null;
        Task traffic = Task.CompletedTask;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await StartClustersAsync(cancellationToken).ConfigureAwait(false);
            _target = Settings(plan[0]);
            Fleet.Apply(_target);
            await StartFleetAsync(cancellationToken).ConfigureAwait(false);

            if (Options.DemonstrateGuard && Options.SafeOrderGuard)
            {
                var before = RejectedReloadsByNode();
                Fleet.Apply(Settings(plan[0] with { ProducerWeight = Math.Max(30, plan[0].ProducerWeight), ConsumerWeight = 0 }));
                await WaitForRejectionsAsync(before, cancellationToken).ConfigureAwait(false);
                rejection = LiveNodes.Select(n => n.Status.LastRejectedReload?.Errors).FirstOrDefault(e => e is { Count: > 0 })?[0];
                Fleet.Apply(_target);
                Note("guard: an unsafe reload (producers to New while no consumer reads it) was rejected by every node");
            }

            traffic = Task.WhenAll(LiveNodes.Where(n => !n.IsConsumer).Select(n => n.RunTrafficAsync(Options.ProducerConcurrency, stop.Token)));
            using var progress = Options.OnProgress is { } onProgress
                ? new Timer(_ => onProgress(new RehearsalProgress(plan[Math.Clamp(Volatile.Read(ref _stepIndex), 0, plan.Count - 1)], Ledger.Sent, Ledger.HandledUnique, Options.Messages, clock.Elapsed)), null, Options.ProgressInterval, Options.ProgressInterval)
                : null;
            for (var i = 0; i < plan.Count; i++)
            {
                if (i > 0)
                {
                    var milestone = _milestones[i];
                    await WaitAsync(() => Traffic.Taken >= milestone || traffic.IsCompleted, $"the traffic reached step {plan[i].Label}", cancellationToken).ConfigureAwait(false);
                    Report(i - 1, applied[i - 1], reports, onStep);
                }

                Volatile.Write(ref _stepIndex, i);
                if (plan[i].HoldOldConsumption)
                {
                    _holdOld ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                applied[i] = await ApplyStepAsync(plan[i], faults, cancellationToken).ConfigureAwait(false);
                Traffic.Allow(_milestones[i + 1]);
                if (!plan[i].HoldOldConsumption)
                {
                    ReleaseOld();
                }

                var index = i;
                faultTasks.AddRange(faults.Select(f => Task.Run(() => f.DuringStepAsync(this, index, stop.Token), CancellationToken.None)));
            }

            await traffic.ConfigureAwait(false);
            await Task.WhenAll(faultTasks).ConfigureAwait(false);
            ReleaseOld();
            await SettleAsync(plan[^1], applied[^1], cancellationToken).ConfigureAwait(false);
            Report(plan.Count - 1, applied[^1], reports, onStep);
        }
        finally
        {
            ReleaseOld();
            await stop.CancelAsync().ConfigureAwait(false);
            await AwaitQuietlyAsync(traffic).ConfigureAwait(false);
            foreach (var task in faultTasks)
            {
                await AwaitQuietlyAsync(task).ConfigureAwait(false);
            }
        }

        var rejected = LiveNodes.Sum(n => n.Status.RejectedReloads);
        await StopFleetAsync().ConfigureAwait(false);
        return new RehearsalResult(
            Options.Messages,
            Ledger.Sent,
            Ledger.SendFailures,
            Ledger.HandledUnique,
            Ledger.Outstanding,
            Ledger.DuplicateEffects,
            Interlocked.Read(ref _duplicatesSuppressed),
            Ledger.HandledAfterFailedSend,
            Old.GetDeadLetters(Group).Count + New.GetDeadLetters(Group).Count,
            rejected,
            rejection,
            Ledger.GetLost(),
            Ledger.GetDuplicated(),
            reports,
            [.. faults.Select(f => f.Name)],
            Ledger.Latency,
            HandlerLatency.Summarize(),
            clock.Elapsed);
    }

    /// <summary>With <see cref="RehearsalOptions.Clusters"/>: puts its servers in front of both brokers and points the nodes at them.</summary>
    private async Task StartClustersAsync(CancellationToken cancellationToken)
    {
        if (Options.Clusters is not { } clusters)
        {
            return;
        }

        _clustersStarted = true;
        _clusterSettings.Clear();
        foreach (var role in new[] { ClusterRole.Old, ClusterRole.New })
        {
            var settings = await clusters.StartAsync(role, Broker(role), cancellationToken).ConfigureAwait(false);
            const string prefix = "DualCluster:";
            foreach (var (key, value) in settings)
            {
                if (!key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException(
                        $"{clusters.GetType().Name}.StartAsync({role}) returned the key '{key}'; only DualCluster keys may configure a node.");
                }

                _clusterSettings[key] = value;
            }
        }
    }

    private async Task StartFleetAsync(CancellationToken cancellationToken)
    {
        foreach (var id in Options.ProducerNodeIds ?? [.. PickNodeIds("producer", Options.ProducerNodes)])
        {
            var node = await RehearsalNode.StartAsync(this, id, consumer: false, cancellationToken).ConfigureAwait(false);
            lock (_nodes)
            {
                _producers.Add(node);
            }
        }

        foreach (var id in Options.ConsumerNodeIds ?? [.. PickNodeIds("consumer", Options.ConsumerNodes)])
        {
            await JoinConsumerAsync(id, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task StopFleetAsync()
    {
        RehearsalNode[] all;
        lock (_nodes)
        {
            all = [.. _producers, .. _consumers, .. _retired];
            _producers.Clear();
            _consumers.Clear();
            _retired.Clear();
        }

        await Task.WhenAll(all.Select(n => n.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    /// <summary>Applies one plan step. True when the fleet took it; false when the guard rejected it on every node.</summary>
    private async Task<bool> ApplyStepAsync(RehearsalStep step, RehearsalFault[] faults, CancellationToken cancellationToken)
    {
        await _configuration.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var target = Settings(step);
            Volatile.Write(ref _target, target);
            var bound = Bind(target);
            var before = RejectedReloadsByNode();
            var unsafeOrder = Options.SafeOrderGuard && SafeOrderGuard.Check(bound).Count > 0;
            var applier = faults.FirstOrDefault(f => f.AppliesReloads);
            if (applier is not null)
            {
                await applier.ApplyAsync(this, target, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Fleet.Apply(target);
            }

            if (!step.HoldOldConsumption)
            {
                // Old's consumers resume once the step that ends the hold is saved (before the fleet applied it).
                ReleaseOld();
            }

            if (unsafeOrder)
            {
                await WaitForRejectionsAsync(before, cancellationToken).ConfigureAwait(false);
                Note($"guard: {step.Settings} rejected by every node; they keep their last valid routing");
                return false;
            }

            // A rule that depends on the previous routing (one reload moving readers and writers without a fleet registry)
            // is only known to the nodes: wait until they either all applied the step or all rejected it.
            var rejected = false;
            await WaitAsync(
                () => HasRouting(bound)
                    || (applier is null && (rejected = before.All(p => p.Key.IsDead || !IsLive(p.Key) || p.Key.Status.RejectedReloads > p.Value))),
                "every node applied the new routing (or rejected it)",
                cancellationToken).ConfigureAwait(false);
            if (rejected && !HasRouting(bound))
            {
                Note($"guard: {step.Settings} rejected by every node; they keep their last valid routing");
                return false;
            }

            return true;
        }
        finally
        {
            _configuration.Release();
        }
    }

    /// <summary>Runs <paramref name="action"/> with the settings in force, while no step is being applied.</summary>
    public async Task WithConfigurationAsync(Func<IReadOnlyDictionary<string, string?>, CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        await _configuration.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await action(Volatile.Read(ref _target), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _configuration.Release();
        }
    }

    private async Task SettleAsync(RehearsalStep last, bool lastApplied, CancellationToken cancellationToken)
    {
        var leaveOld = lastApplied && last.ConsumerWeight == 100;
        var handled = Ledger.HandledUnique;
        var progress = Stopwatch.StartNew();
        var bound = Bind(Volatile.Read(ref _target));
        var guardWait = bound.Consumer.DrainGracePeriod + bound.Fleet.WriteWindow + (2 * bound.Fleet.HeartbeatInterval);
        while (true)
        {
            var allHandled = Ledger.Outstanding == 0
                && Old.GetBacklog(Group, Options.Topic).IsDrained
                && New.GetBacklog(Group, Options.Topic).IsDrained;
            if (allHandled && (!leaveOld || LiveConsumers.All(c => c.Status.Consumers.All(s => s.Phase == ConsumerPhase.New))))
            {
                return;
            }

            var now = Ledger.HandledUnique;
            if (allHandled)
            {
                // Nothing is left to handle; the last consumers wait out the guard's grace (and, on facts, the producers'
                // write window and a heartbeat) before they leave Old. That is the guard at work, not a stall: allow it.
                if (progress.Elapsed > Options.QuietPeriod + guardWait)
                {
                    Note($"settle: everything handled, but the last consumers did not leave Old within {(Options.QuietPeriod + guardWait).TotalSeconds:0.#} s");
                    return;
                }
            }
            else if (now != handled)
            {
                handled = now;
                progress.Restart();
            }
            else if (progress.Elapsed > Options.QuietPeriod)
            {
                Note($"settle: no progress for {Options.QuietPeriod.TotalSeconds:0.#} s; what is outstanding now is reported lost");
                return;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    private void ReleaseOld() => Interlocked.Exchange(ref _holdOld, null)?.TrySetResult();

    // ------------------------------------------------------------------ nodes

    /// <summary>Starts a consumer node; never while a step or a flapping reload is being applied (a node started on an invalid configuration refuses to start, as it should).</summary>
    public async Task<RehearsalNode> JoinConsumerAsync(string id, CancellationToken cancellationToken)
    {
        await _configuration.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var node = await RehearsalNode.StartAsync(this, id, consumer: true, cancellationToken).ConfigureAwait(false);
            lock (_nodes)
            {
                _consumers.Add(node);
            }

            return node;
        }
        finally
        {
            _configuration.Release();
        }
    }

    public async Task CrashAsync(RehearsalNode node)
    {
        await node.CrashAsync().ConfigureAwait(false);
        lock (_nodes)
        {
            _consumers.Remove(node);
            _producers.Remove(node);
            _retired.Add(node);
        }
    }

    public async Task LeaveAsync(RehearsalNode node, CancellationToken cancellationToken)
    {
        lock (_nodes)
        {
            _consumers.Remove(node);
            _retired.Add(node);
        }

        await node.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Node ids spread evenly over the buckets, so a weight of w moves about w% of the nodes.</summary>
    private static IEnumerable<string> PickNodeIds(string prefix, int count)
    {
        var next = 1;
        for (var k = 0; k < count; k++)
        {
            var low = k * 100 / count;
            var high = (k + 1) * 100 / count;
            while (true)
            {
                var id = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{next++}");
                var bucket = NodeBucket.Compute(id);
                if (bucket >= low && bucket < high)
                {
                    yield return id;
                    break;
                }
            }
        }
    }

    // ------------------------------------------------------------------ waiting

    public Dictionary<RehearsalNode, long> RejectedReloadsByNode() => LiveNodes.ToDictionary(n => n, n => n.Status.RejectedReloads);

    /// <summary>Waits until every node of <paramref name="before"/> still alive rejected one more reload; returns how many did.</summary>
    public async Task<int> WaitForRejectionsAsync(Dictionary<RehearsalNode, long> before, CancellationToken cancellationToken)
    {
        await WaitAsync(
            () => before.All(p => p.Key.IsDead || !IsLive(p.Key) || p.Key.Status.RejectedReloads > p.Value),
            "every node rejected the reload",
            cancellationToken).ConfigureAwait(false);
        return before.Count(p => IsLive(p.Key));
    }

    public async Task WaitForStepProgressAsync(int stepIndex, double fraction, CancellationToken cancellationToken)
    {
        var from = _milestones[stepIndex];
        var target = from + (long)((_milestones[stepIndex + 1] - from) * fraction);
        while (Traffic.Taken < target && !Traffic.Exhausted && Volatile.Read(ref _stepIndex) == stepIndex)
        {
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    private bool HasRouting(DualClusterOptions bound) =>
        LiveNodes.All(n =>
        {
            var expected = RoutingPlan.For(n.Id, bound);
            var status = n.Status;
            return status.ProducerTarget == expected.ProducerTarget && status.ConsumerTargets == expected.ConsumerTargets
                && status.Consumers.All(c => c.Reading.HasFlag(expected.ConsumerTargets));
        });

    private async Task WaitAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > Options.StepTimeout)
            {
                throw new TimeoutException($"Rehearsal: timed out after {Options.StepTimeout} waiting until {what}.");
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    private bool IsLive(RehearsalNode node)
    {
        lock (_nodes)
        {
            return _consumers.Contains(node) || _producers.Contains(node);
        }
    }

    // ------------------------------------------------------------------ handler hooks

    public async ValueTask BeforeHandlerAsync(MessageContext context, long sequence, CancellationToken cancellationToken)
    {
        if (context.Message.Cluster == ClusterRole.Old && Volatile.Read(ref _holdOld) is { } hold)
        {
            await hold.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var fault in Options.Faults)
        {
            await fault.BeforeHandlerAsync(this, context, sequence, cancellationToken).ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ reports

    private void Report(int index, bool applied, List<RehearsalStepReport> reports, Action<RehearsalStepReport>? onStep)
    {
        var consumers = LiveConsumers.SelectMany(c => c.Status.Consumers).ToArray();
        var notes = new List<string>();
        while (_notes[index].TryDequeue(out var note))
        {
            notes.Add(note);
        }

        var report = new RehearsalStepReport(
            Options.Plan[index],
            applied,
            Ledger.SentOld,
            Ledger.SentNew,
            Ledger.SendFailures,
            Ledger.HandledOld,
            Ledger.HandledNew,
            Ledger.Outstanding,
            Ledger.DuplicateEffects,
            Interlocked.Read(ref _duplicatesSuppressed),
            Old.GetBacklog(Group, Options.Topic).KnownTotal,
            New.GetBacklog(Group, Options.Topic).KnownTotal,
            LiveNodes.Count(n => !n.IsConsumer && n.Status.ProducerTarget == ClusterRole.New),
            consumers.Count(s => s.Reading.Contains(ClusterRole.Old)),
            consumers.Count(s => s.Reading.Contains(ClusterRole.New)),
            consumers.Count(s => s.Phase == ConsumerPhase.Draining),
            LiveNodes.Sum(n => n.Status.RejectedReloads),
            notes)
        {
            Waits = [.. LiveNodes.SelectMany(n => n.Status.Waits.Select(w => $"{n.Id}: {w}"))],
        };
        reports.Add(report);
        onStep?.Invoke(report);
    }

    private MeterListener ListenToDuplicates()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = static (instrument, l) =>
            {
                if (instrument.Meter.Name == Telemetry.DualClusterTelemetry.Name && instrument.Name == "dualcluster.messages.duplicates")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            // The meter is process-wide: count only this run's group.
            foreach (var tag in tags)
            {
                if (tag.Key == "group" && tag.Value as string == Group)
                {
                    Interlocked.Add(ref _duplicatesSuppressed, value);
                }
            }
        });
        listener.Start();
        return listener;
    }

    // ------------------------------------------------------------------ settings

    private Dictionary<string, string?> Settings(RehearsalStep step)
    {
        var settings = new Dictionary<string, string?>(_clusterSettings, StringComparer.OrdinalIgnoreCase)
        {
            ["DualCluster:Producer:NewWeight"] = step.ProducerWeight.ToString(CultureInfo.InvariantCulture),
            ["DualCluster:Consumer:NewWeight"] = step.ConsumerWeight.ToString(CultureInfo.InvariantCulture),
            ["DualCluster:SafeOrderGuard"] = Options.SafeOrderGuard ? "true" : "false",
            ["DualCluster:ReloadDebounce"] = "00:00:00",
            ["DualCluster:Consumer:DrainCheckInterval"] = "00:00:00.100",
            ["DualCluster:Idempotency:HeldElsewhereRetryDelay"] = "00:00:00.200",
            ["DualCluster:Idempotency:Lease"] = "00:00:02",
            ["DualCluster:Resilience:AttemptTimeout"] = "00:00:01",
            ["DualCluster:Resilience:MaxRetryAttempts"] = "4",
            ["DualCluster:Consumer:DrainGracePeriod"] = "00:00:01.500",
            ["DualCluster:Resilience:RetryBaseDelay"] = "00:00:00.050",
            ["DualCluster:Resilience:BreakerBreakDuration"] = "00:00:00.500",
            ["DualCluster:Resilience:BreakerFailureRatio"] = "1",
            ["DualCluster:Fleet:HeartbeatInterval"] = "00:00:00.100",
            ["DualCluster:Fleet:TimeToLive"] = "00:00:01",
            ["DualCluster:Fleet:WriteWindow"] = "00:00:01",
        };
        foreach (var (key, value) in FaultSettings)
        {
            settings[key] = value;
        }

        foreach (var (key, value) in Options.Settings)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static DualClusterOptions Bind(IReadOnlyDictionary<string, string?> settings)
    {
        var bound = new DualClusterOptions();
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(DualClusterOptions.SectionName).Bind(bound);
        return bound;
    }

    private static async Task AwaitQuietlyAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already observed (or irrelevant once the run is over).
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopFleetAsync().ConfigureAwait(false);
        if (_clustersStarted)
        {
            await Options.Clusters!.StopAsync().ConfigureAwait(false);
        }

        _ownedStore?.Dispose();
        _configuration.Dispose();
    }
}
