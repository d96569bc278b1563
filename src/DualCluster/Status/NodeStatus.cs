namespace DualCluster;

/// <summary>A node's routing state at one moment.</summary>
/// <param name="NodeId">The node id.</param>
/// <param name="Bucket">Its bucket, 0–99.</param>
/// <param name="ProducerTarget">Where its producer writes.</param>
/// <param name="Mirror">Whether sends are mirrored to the other cluster.</param>
/// <param name="ConsumerTargets">Where routing says its consumers read.</param>
/// <param name="RoutingVersion">Increases with each applied routing change.</param>
/// <param name="RejectedReloads">How many reloads were rejected since start.</param>
/// <param name="LastRejectedReload">The last rejected reload and its reasons, if any.</param>
/// <param name="Consumers">Each consumer registration's state.</param>
public sealed record NodeStatus(
    string NodeId,
    int Bucket,
    ClusterRole ProducerTarget,
    bool Mirror,
    ClusterSet ConsumerTargets,
    long RoutingVersion,
    long RejectedReloads,
    Routing.RejectedReload? LastRejectedReload,
    IReadOnlyList<ConsumerStatus> Consumers)
{
    /// <summary>
    /// Conditions that do not stop the node but put the migration at risk, each saying what to do (for example a
    /// node-local idempotency store while producers write both clusters). Empty when there are none.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>How the safe-order guard decides on this node: on the configuration only, on live fleet facts, or holding still while the facts are unavailable.</summary>
    public Fleet.FleetGuardMode GuardMode { get; init; }

    /// <summary>What the node waits for, one line each (for example a topic kept on Old until a group holds a position on New). Empty when nothing.</summary>
    public IReadOnlyList<string> Waits { get; init; } = [];

    /// <summary>True while any consumer drains a cluster before leaving it.</summary>
    public bool IsDraining => Consumers.Any(c => c.Phase == ConsumerPhase.Draining);

    /// <summary>Prints the consumers and warnings themselves, not the lists' type names.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"NodeId = {NodeId}, Bucket = {Bucket}, ProducerTarget = {ProducerTarget}, Mirror = {Mirror}, ConsumerTargets = {ConsumerTargets}, ")
            .Append(System.Globalization.CultureInfo.InvariantCulture, $"RoutingVersion = {RoutingVersion}, RejectedReloads = {RejectedReloads}, LastRejectedReload = {LastRejectedReload}, ")
            .Append("Consumers = [").AppendJoin(", ", Consumers).Append("], Warnings = [").AppendJoin("; ", Warnings).Append(System.Globalization.CultureInfo.InvariantCulture, $"], GuardMode = {GuardMode}, Waits = [").AppendJoin("; ", Waits).Append(System.Globalization.CultureInfo.InvariantCulture, $"], IsDraining = {IsDraining}");
        return true;
    }
}
