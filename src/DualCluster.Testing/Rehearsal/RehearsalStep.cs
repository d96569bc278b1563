namespace DualCluster.Testing;

/// <summary>
/// One entry of a rehearsal plan: the fleet-wide weights the operator applies (by a configuration reload) when
/// the traffic reaches this step's share of the messages.
/// </summary>
/// <param name="Step">The migration step it belongs to (1–5, design §1).</param>
/// <param name="Title">What the operator does.</param>
/// <param name="ProducerWeight"><c>DualCluster:Producer:NewWeight</c>.</param>
/// <param name="ConsumerWeight"><c>DualCluster:Consumer:NewWeight</c>.</param>
public sealed record RehearsalStep(int Step, string Title, int ProducerWeight, int ConsumerWeight)
{
    /// <summary>True when the step lowers a weight again (a rollback).</summary>
    public bool IsRollback { get; init; }

    /// <summary>
    /// While this step is in force, Old's consumers make no progress (their handlers wait), so Old builds up a
    /// backlog; they resume when a step without the flag is applied. Used to rehearse "the last consumers leave
    /// Old while it still has a backlog".
    /// </summary>
    public bool HoldOldConsumption { get; init; }

    /// <summary>The step's weights as configuration keys.</summary>
    public string Settings => $"Producer:NewWeight={ProducerWeight} Consumer:NewWeight={ConsumerWeight}";

    /// <summary>A label such as <c>3</c> or <c>3↩</c> (rollback).</summary>
    public string Label => IsRollback ? $"{Step}\u21a9" : Step.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The five steps of design §1, weights 0/0 → 0/50 → 50/50 → 100/50 → 100/100.</summary>
    public static IReadOnlyList<RehearsalStep> FiveSteps { get; } =
    [
        new(1, "Everything on Old; DualCluster deployed", 0, 0),
        new(2, "Some consumers read New", 0, 50),
        new(3, "Some producers write New", 50, 50),
        new(4, "All producers write New", 100, 50),
        new(5, "Old drained; last consumers leave it", 100, 100),
    ];

    /// <summary>The five steps with two rollbacks: producers partly back to Old after step 3, consumers partly back after step 4.</summary>
    public static IReadOnlyList<RehearsalStep> FiveStepsWithRollbacks { get; } =
    [
        new(1, "Everything on Old; DualCluster deployed", 0, 0),
        new(2, "Some consumers read New", 0, 50),
        new(3, "Some producers write New", 50, 50),
        new(3, "Rollback: producers partly back to Old", 20, 50) { IsRollback = true },
        new(4, "All producers write New", 100, 50),
        new(4, "Rollback: consumers partly back to Old", 100, 20) { IsRollback = true },
        new(5, "Old drained; last consumers leave it", 100, 100),
    ];

    /// <summary>
    /// An unsafe order: producers move to New before any consumer reads it, then the operator follows the right
    /// order. With the guard on, the unsafe reloads are rejected; with it off, what reached New before its consumer
    /// group existed is lost (a new group starts at the latest offset).
    /// </summary>
    public static IReadOnlyList<RehearsalStep> ProducersFirst { get; } =
    [
        new(1, "Everything on Old; DualCluster deployed", 0, 0),
        new(3, "UNSAFE: some producers write New while no consumer reads it", 50, 0),
        new(2, "Some consumers read New (producers back on Old)", 0, 50) { IsRollback = true },
        new(3, "Some producers write New", 50, 50),
        new(4, "All producers write New", 100, 50),
        new(5, "Old drained; last consumers leave it", 100, 100),
    ];

    /// <summary>
    /// An unsafe order: Old's consumers fall behind (a backlog builds) and the last of them leave Old at once.
    /// With the guard on, they drain Old first; with it off, Old's backlog is lost.
    /// </summary>
    public static IReadOnlyList<RehearsalStep> LastConsumersLeaveOldWithBacklog { get; } =
    [
        new(1, "Everything on Old; DualCluster deployed", 0, 0),
        new(2, "Some consumers read New", 0, 50),
        new(3, "Some producers write New; Old's consumers fall behind", 50, 50) { HoldOldConsumption = true },
        new(4, "All producers write New; Old still has a backlog", 100, 50) { HoldOldConsumption = true },
        new(5, "UNSAFE without the guard: last consumers leave Old with its backlog", 100, 100),
    ];

    /// <summary>
    /// The few-nodes trap (run it with <see cref="FewNodesProducerIds"/> and <see cref="FewNodesConsumerIds"/>): with three
    /// consumer nodes a consumer weight of 30 puts none of them on New, while a producer weight of 20 moves one producer
    /// there. A guard on the configuration accepts it and what that producer writes to New before the group has a position
    /// there is lost; on facts, the producer keeps the topic on Old until a consumer of the group reads New.
    /// </summary>
    public static IReadOnlyList<RehearsalStep> FewNodes { get; } =
    [
        new(1, "Everything on Old; DualCluster deployed", 0, 0),
        new(2, "Consumers 30% (none of the three consumer nodes has a bucket below 30)", 0, 30),
        new(3, "Producers 20% (moves order-svc-1) while no consumer reads New", 20, 30),
        new(3, "Consumers 70% (payment-worker-1 reads New)", 20, 70),
        new(4, "All producers write New", 100, 70),
        new(5, "Old drained; last consumers leave it", 100, 100),
    ];

    /// <summary>Producer node ids of <see cref="FewNodes"/>: buckets 18, 99 and 80.</summary>
    public static IReadOnlyList<string> FewNodesProducerIds { get; } = ["order-svc-1", "order-svc-2", "order-svc-3"];

    /// <summary>Consumer node ids of <see cref="FewNodes"/>: buckets 36, 93 and 74.</summary>
    public static IReadOnlyList<string> FewNodesConsumerIds { get; } = ["payment-worker-1", "payment-worker-2", "payment-worker-3"];

    /// <summary>
    /// One reload moves consumers and producers at once: nodes apply it in any order, so a producer can write New before
    /// any consumer of the group holds a position there. On facts the producers wait for that position.
    /// </summary>
    public static IReadOnlyList<RehearsalStep> SingleReload { get; } =
    [
        new(1, "Everything on Old; DualCluster deployed", 0, 0),
        new(3, "One reload: half the consumers read New and every producer writes New", 100, 50),
        new(5, "Old drained; last consumers leave it", 100, 100),
    ];
}
