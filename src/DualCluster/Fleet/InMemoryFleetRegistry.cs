namespace DualCluster.Fleet;

/// <summary>
/// A fleet registry in this process's memory: for nodes hosted in one process (tests, rehearsals, a single-process
/// deployment). Share one instance between the nodes through <c>DualClusterBuilder.UseFleetRegistry</c>. Records lapse on
/// the given <see cref="TimeProvider"/>'s clock.
/// </summary>
public sealed class InMemoryFleetRegistry : IFleetRegistry
{
    private readonly TimeProvider _time;
    private readonly Dictionary<string, (FleetMember Member, DateTimeOffset Expires)> _records = new(StringComparer.Ordinal);
    private volatile bool _unavailable;

    /// <summary>Creates an empty registry on the system clock.</summary>
    public InMemoryFleetRegistry()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Creates an empty registry on <paramref name="time"/>'s clock.</summary>
    public InMemoryFleetRegistry(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
    }

    /// <summary>
    /// While true every call throws <see cref="FleetRegistryUnavailableException"/>, as a shared store does during an
    /// outage (for tests and rehearsals of that fault). Records keep lapsing meanwhile.
    /// </summary>
    public bool Unavailable
    {
        get => _unavailable;
        set => _unavailable = value;
    }

    /// <inheritdoc />
    public ValueTask PublishAsync(FleetMember member, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnavailable();
        lock (_records)
        {
            _records[member.NodeId] = (member, _time.GetUtcNow() + timeToLive);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FleetMember>> GetLiveMembersAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnavailable();
        var now = _time.GetUtcNow();
        lock (_records)
        {
            foreach (var lapsed in _records.Where(r => r.Value.Expires <= now).Select(r => r.Key).ToList())
            {
                _records.Remove(lapsed);
            }

            IReadOnlyList<FleetMember> live = [.. _records.Values.Select(r => r.Member).OrderBy(m => m.NodeId, StringComparer.Ordinal)];
            return ValueTask.FromResult(live);
        }
    }

    /// <inheritdoc />
    public ValueTask RemoveAsync(string nodeId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnavailable();
        lock (_records)
        {
            _records.Remove(nodeId);
        }

        return ValueTask.CompletedTask;
    }

    private void ThrowIfUnavailable()
    {
        if (_unavailable)
        {
            throw new FleetRegistryUnavailableException("The in-memory fleet registry is marked unavailable (a rehearsed outage).");
        }
    }
}
