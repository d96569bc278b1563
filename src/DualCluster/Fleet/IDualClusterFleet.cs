namespace DualCluster.Fleet;

/// <summary>The live fleet as this node sees it, for people and dashboards. Resolve from DI; thread-safe.</summary>
public interface IDualClusterFleet
{
    /// <summary>The latest reading of the fleet registry and what this node waits for.</summary>
    FleetReport GetFleet();
}

/// <summary>How the safe-order guard decides on this node.</summary>
public enum FleetGuardMode
{
    /// <summary>No fleet registry is registered: on the configuration (weights and overrides) only.</summary>
    Configuration,

    /// <summary>On live facts from the fleet registry and the clusters.</summary>
    Facts,

    /// <summary>A registry is registered but its facts cannot be had now: nothing moves, every topic keeps its last proven target.</summary>
    FactsUnavailable,
}

/// <summary>One reading of the fleet.</summary>
/// <param name="Mode">How the guard decides now.</param>
/// <param name="LiveMembers">The nodes whose heartbeat has not lapsed, at the last successful reading.</param>
/// <param name="ReadAt">When the registry was last read successfully; null if never.</param>
/// <param name="Error">Why the latest reading failed; null when it succeeded.</param>
/// <param name="Waits">What this node waits for, one line each (for example a topic kept on Old until a group holds a position on New).</param>
public sealed record FleetReport(FleetGuardMode Mode, IReadOnlyList<FleetMember> LiveMembers, DateTimeOffset? ReadAt, string? Error, IReadOnlyList<string> Waits)
{
    /// <summary>Prints the lists' items, not their type names.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"Mode = {Mode}, ReadAt = {ReadAt}, Error = {Error}, ")
            .Append("LiveMembers = [").AppendJoin(", ", LiveMembers).Append("], Waits = [").AppendJoin("; ", Waits).Append(']');
        return true;
    }
}

/// <summary>The fleet report from the node's monitor and topic router.</summary>
internal sealed class DualClusterFleet(FleetMonitor monitor, TopicRouter router) : IDualClusterFleet
{
    public FleetReport GetFleet()
    {
        var facts = monitor.Current;
        var mode = !monitor.Active ? FleetGuardMode.Configuration : facts.Available ? FleetGuardMode.Facts : FleetGuardMode.FactsUnavailable;
        List<string> waits = [.. router.Waits];
        if (mode == FleetGuardMode.FactsUnavailable)
        {
            waits.Insert(0, $"fleet facts: {facts.Error ?? "the registry was not read yet"}");
        }

        return new FleetReport(mode, facts.Members, facts.ReadAt, facts.Error, waits);
    }
}
