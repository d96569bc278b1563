using Microsoft.Extensions.DependencyInjection;
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
    private readonly object _applying = new();
    private ITimer? _debounce;
    private RoutingSnapshot _current;
    private RejectedReload? _lastRejection;
    private long _rejectedCount;
    private bool _disposed;

    /// <summary>A fleet registry is registered: producers wait for the groups' positions by themselves (see <see cref="Fleet.TopicRouter"/>).</summary>
    private readonly bool _onFacts;

    public RoutingState(
        IOptionsFactory<DualClusterOptions> factory,
        IEnumerable<IOptionsChangeTokenSource<DualClusterOptions>> changeSources,
        DualClusterOptionsValidator validator,
        TimeProvider time,
        DualClusterMetrics metrics,
        ILogger<RoutingState>? logger = null,
        IServiceProviderIsService? services = null)
    {
        _onFacts = services?.IsService(typeof(Fleet.IFleetRegistry)) == true;
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

    /// <summary>
    /// Raised (on the applying thread, outside the state lock) after a change of plan or fleet view, with the previous
    /// and new snapshots. A subscriber that throws is logged; it does not stop the reload or the other subscribers.
    /// </summary>
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
    /// <remarks>
    /// Never throws: it runs on a timer or the thread pool, where an exception would end the process. Anything that
    /// goes wrong while reading or checking the configuration is a rejected reload (logged, counted, in the status);
    /// a <see cref="Changed"/> subscriber that throws is logged and the other subscribers still run. Subscribers are
    /// called outside the state lock, in the order the changes were applied.
    /// </remarks>
    public bool Reload()
    {
        // Serialises whole reloads, so change events reach subscribers in the order they were applied, without
        // holding the state lock (_gate) while subscriber code runs.
        lock (_applying)
        {
            RoutingSnapshot previous;
            RoutingSnapshot next;
            lock (_gate)
            {
                if (_disposed)
                {
                    return false;
                }

                previous = _current;
                try
                {
                    if (!TryApply(previous, out next))
                    {
                        return false;
                    }
                }
                catch (Exception ex)
                {
                    Reject(previous, [$"The DualCluster configuration could not be applied: {ex.GetType().Name}: {ex.Message}"]);
                    return false;
                }
            }

            if (!ReferenceEquals(next, previous) && next.Version != previous.Version)
            {
                RaiseChanged(previous, next);
            }

            return true;
        }
    }

    /// <summary>Validates the configuration in force and installs its snapshot; false (and rejected) when it is not valid.</summary>
    private bool TryApply(RoutingSnapshot previous, out RoutingSnapshot next)
    {
        DualClusterOptions candidate;
        List<string> errors;
        try
        {
            candidate = _factory.Create(Options.DefaultName);
            _validator.LogWarnings(candidate);
            errors = _validator.Collect(candidate);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or OptionsValidationException)
        {
            candidate = null!;
            errors = [$"The DualCluster section could not be read: {ex.Message}"];
        }

        if (errors.Count == 0 && MovesReadersAndWritersAtOnce(previous.Options, candidate) is { } oneReload)
        {
            errors.Add(oneReload);
        }

        if (errors.Count > 0)
        {
            Reject(previous, errors);
            next = previous;
            return false;
        }

        WarnAboutRestartOnlyChanges(previous.Options, candidate);
        next = Snapshot(candidate, previous.Version + 1);
        if (next.Plan == previous.Plan && next.Fleet == previous.Fleet)
        {
            // Keep the version: nothing a component reacts to has changed, so nothing reconnects.
            next = next with { Version = previous.Version };
            Volatile.Write(ref _current, next);
            RoutingLog.Unchanged(_logger, NodeId);
            return true;
        }

        Volatile.Write(ref _current, next);
        _metrics.Switches.Add(1);
        RoutingLog.Changed(_logger, NodeId, previous.Plan.ProducerTarget, next.Plan.ProducerTarget, previous.Plan.ConsumerTargets, next.Plan.ConsumerTargets, next.Version);
        return true;
    }

    /// <summary>
    /// Without a fleet registry, one reload may not start consumers on New and move producers there at once: nodes apply
    /// a reload in any order, so a producer could write New before any consumer of its groups holds a position there.
    /// With a registry the producers wait for those positions by themselves, so the reload is fine.
    /// </summary>
    private string? MovesReadersAndWritersAtOnce(DualClusterOptions previous, DualClusterOptions next)
    {
        if (_onFacts || !next.SafeOrderGuard)
        {
            return null;
        }

        var before = FleetView.Of(previous);
        var after = FleetView.Of(next);
        if (before.SomeReadNew || !after.MayWriteNew)
        {
            return null;
        }

        return "This reload starts consumers reading New and moves producers to New in the same change; nodes apply a reload in "
            + "any order, so a producer may write New before any consumer of its groups holds a position there (a group that first "
            + "connects later may start at the latest offset). Apply the consumer change first (DualCluster:Consumer:NewWeight or "
            + "DoubleRead), wait until the consumers read New, then move producers in a later reload; or register a fleet registry "
            + "(UseRedisFleetRegistry, UsePostgreSqlFleetRegistry, UseFleetRegistry), with which producers wait for those positions by themselves.";
    }

    private void Reject(RoutingSnapshot previous, List<string> errors)
    {
        var reason = string.Join(" ", errors);
        Volatile.Write(ref _lastRejection, new RejectedReload(_time.GetUtcNow(), errors));
        Interlocked.Increment(ref _rejectedCount);
        _metrics.RejectedReloads.Add(1);
        RoutingLog.Rejected(_logger, NodeId, previous.Version, reason);
    }

    private void RaiseChanged(RoutingSnapshot previous, RoutingSnapshot next)
    {
        if (Changed is not { } handlers)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<RoutingSnapshot, RoutingSnapshot>)handler)(previous, next);
            }
            catch (Exception ex)
            {
                RoutingLog.SubscriberFailed(_logger, ex, NodeId, next.Version);
            }
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
public sealed record RejectedReload(DateTimeOffset At, IReadOnlyList<string> Errors)
{
    /// <summary>Prints the errors themselves, not the list's type name.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("At = ").Append(At.ToString("O", System.Globalization.CultureInfo.InvariantCulture))
            .Append(", Errors = [").AppendJoin("; ", Errors).Append(']');
        return true;
    }
}
