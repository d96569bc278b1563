using DualCluster.Configuration;
using DualCluster.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace DualCluster.Routing;

/// <summary>
/// This node's live routing. Listens to the options' change tokens, waits
/// <see cref="DualClusterOptions.ReloadDebounce"/> after the last change, then validates the new options
/// (including the safe-order guard). An invalid or unsafe configuration is rejected (logged, counted,
/// remembered) and the last valid routing stays; a valid one replaces the snapshot, and
/// <see cref="Changed"/> fires only when the node's plan or the fleet view actually changed.
/// </summary>
internal sealed class RoutingState : IDisposable
{
    private readonly IOptionsFactory<DualClusterOptions> _factory;
    private readonly DualClusterOptionsValidator _validator;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DualClusterMetrics _metrics;
    private readonly List<IDisposable> _registrations = [];
    private readonly object _gate = new();
    private ITimer? _debounce;
    private RoutingSnapshot _current;
    private RejectedReload? _lastRejection;
    private long _rejectedCount;
    private bool _disposed;

    public RoutingState(
        IOptionsFactory<DualClusterOptions> factory,
        IEnumerable<IOptionsChangeTokenSource<DualClusterOptions>> changeSources,
        DualClusterOptionsValidator validator,
        TimeProvider time,
        DualClusterMetrics metrics,
        ILogger<RoutingState>? logger = null)
    {
        _factory = factory;
        _validator = validator;
        _time = time;
        _metrics = metrics;
        _logger = logger ?? (ILogger)NullLogger.Instance;

        var options = factory.Create(Options.DefaultName);
        var errors = validator.Collect(options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(DualClusterOptions), errors);
        }

        NodeId = NodeIdentity.Resolve(options.NodeId);
        _current = Snapshot(options, 1);
        RoutingLog.Started(_logger, NodeId, _current.Plan.Bucket, _current.Plan.ProducerTarget, _current.Plan.Mirror ? " (+ mirror)" : "", _current.Plan.ConsumerTargets);

        foreach (var source in changeSources)
        {
            if (source.Name == Options.DefaultName)
            {
                _registrations.Add(ChangeToken.OnChange(source.GetChangeToken, OnSourceChanged));
            }
        }
    }

    /// <summary>Raised (on the applying thread) after a change of plan or fleet view, with the previous and new snapshots.</summary>
    public event Action<RoutingSnapshot, RoutingSnapshot>? Changed;

    public string NodeId { get; }

    public RoutingSnapshot Current => Volatile.Read(ref _current);

    public RejectedReload? LastRejection => Volatile.Read(ref _lastRejection);

    public long RejectedCount => Interlocked.Read(ref _rejectedCount);

    private void OnSourceChanged()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var delay = Current.Options.ReloadDebounce;
            if (delay <= TimeSpan.Zero)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static s => s.Reload(), this, preferLocal: false);
                return;
            }

            _debounce ??= _time.CreateTimer(static s => ((RoutingState)s!).Reload(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _debounce.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Reads, validates and applies the current configuration now (also what the debounce timer calls).</summary>
    /// <returns>True when the configuration was valid (applied, or unchanged).</returns>
    public bool Reload()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }

            DualClusterOptions candidate;
            List<string> errors;
            try
            {
                candidate = _factory.Create(Options.DefaultName);
                errors = _validator.Collect(candidate);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or OptionsValidationException)
            {
                candidate = null!;
                errors = [$"The DualCluster section could not be read: {ex.Message}"];
            }

            var previous = _current;
            if (errors.Count > 0)
            {
                var reason = string.Join(" ", errors);
                Volatile.Write(ref _lastRejection, new RejectedReload(_time.GetUtcNow(), errors));
                Interlocked.Increment(ref _rejectedCount);
                _metrics.RejectedReloads.Add(1);
                RoutingLog.Rejected(_logger, NodeId, previous.Version, reason);
                return false;
            }

            WarnAboutRestartOnlyChanges(previous.Options, candidate);
            var next = Snapshot(candidate, previous.Version + 1);
            if (next.Plan == previous.Plan && next.Fleet == previous.Fleet)
            {
                // Keep the version: nothing a component reacts to has changed, so nothing reconnects.
                Volatile.Write(ref _current, next with { Version = previous.Version });
                RoutingLog.Unchanged(_logger, NodeId);
                return true;
            }

            Volatile.Write(ref _current, next);
            _metrics.Switches.Add(1);
            RoutingLog.Changed(_logger, NodeId, previous.Plan.ProducerTarget, next.Plan.ProducerTarget, previous.Plan.ConsumerTargets, next.Plan.ConsumerTargets, next.Version);
            Changed?.Invoke(previous, next);
            return true;
        }
    }

    private void WarnAboutRestartOnlyChanges(DualClusterOptions previous, DualClusterOptions next)
    {
        foreach (var role in new[] { ClusterRole.Old, ClusterRole.New })
        {
            if (!previous.Clusters[role].ConnectionEquals(next.Clusters[role]))
            {
                RoutingLog.ConnectionChangeIgnored(_logger, role);
            }
        }

        var nextId = NodeIdentity.Resolve(next.NodeId);
        if (nextId != NodeId)
        {
            RoutingLog.NodeIdChangeIgnored(_logger, NodeId, nextId);
        }
    }

    private RoutingSnapshot Snapshot(DualClusterOptions options, long version)
    {
        // The connection settings and node id in force are the start-time ones.
        if (_current is { } start)
        {
            options.Clusters = start.Options.Clusters;
        }

        return new RoutingSnapshot(options, RoutingPlan.For(NodeId, options), FleetView.Of(options), version);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _debounce?.Dispose();
            foreach (var registration in _registrations)
            {
                registration.Dispose();
            }
        }
    }
}

/// <summary>A reload that was refused, and why.</summary>
/// <param name="At">When it was refused.</param>
/// <param name="Errors">One message per violated rule.</param>
public sealed record RejectedReload(DateTimeOffset At, IReadOnlyList<string> Errors);
