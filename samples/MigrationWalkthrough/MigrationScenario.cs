using DualCluster.RocketMQ.Testing;
using DualCluster.Testing;

namespace MigrationWalkthrough;

/// <summary>Settings of one walkthrough run (the command line's view of <see cref="RehearsalOptions"/>).</summary>
internal sealed record ScenarioOptions
{
    public int Messages { get; init; } = 20_000;

    public int Seed { get; init; } = 1;

    /// <summary>Probability that a broker loses an ack (the message is redelivered and must be deduplicated); used when <see cref="Faults"/> is null.</summary>
    public double AckLoss { get; init; } = 0.005;

    /// <summary>The faults to inject; null: lost acks (<see cref="AckLoss"/>) and sends that time out after the broker stored them.</summary>
    public IReadOnlyList<RehearsalFault>? Faults { get; init; }

    /// <summary>Messages per second over the fleet; 0 sends as fast as the fleet can.</summary>
    public double MessagesPerSecond { get; init; }

    public IReadOnlyList<RehearsalStep> Plan { get; init; } = RehearsalStep.FiveStepsWithRollbacks;

    public bool SafeOrderGuard { get; init; } = true;

    /// <summary>Decide on the configuration only, as before the fleet registry (shows what the live facts prevent).</summary>
    public bool ConfigOnlyGuard { get; init; }

    /// <summary>Fixed node ids (the few-nodes plan); null: ids spread evenly over the buckets.</summary>
    public IReadOnlyList<string>? ProducerNodeIds { get; init; }

    /// <inheritdoc cref="ProducerNodeIds"/>
    public IReadOnlyList<string>? ConsumerNodeIds { get; init; }

    /// <summary>Keep every effect's origin, whatever the run's size (reported with duplicates).</summary>
    public bool History { get; init; }

    /// <summary>
    /// Serve the clusters over the RocketMQ wire protocols (Old: loopback 4.x remoting over TCP; New: loopback 5.x
    /// gRPC over HTTP/2) instead of in-process.
    /// </summary>
    public bool Wire { get; init; }
}

/// <summary>
/// The walkthrough: the public rehearsal harness of <c>DualCluster.Testing</c> (<see cref="MigrationRehearsal"/>) with
/// the command line's settings — a fleet of separate hosts on two in-memory clusters walking the five steps (and two
/// rollbacks) under continuous traffic and faults, with an exact ledger.
/// </summary>
internal sealed class MigrationScenario(ScenarioOptions options)
{
    public Task<RehearsalResult> RunAsync(Action<RehearsalStepReport>? onStep = null, Action<RehearsalProgress>? onProgress = null, CancellationToken cancellationToken = default)
    {
        var rehearsal = new RehearsalOptions
        {
            Messages = options.Messages,
            Seed = options.Seed,
            MessagesPerSecond = options.MessagesPerSecond,
            Plan = options.Plan,
            SafeOrderGuard = options.SafeOrderGuard,
            ConfigOnlyGuard = options.ConfigOnlyGuard,
            ProducerNodeIds = options.ProducerNodeIds,
            ConsumerNodeIds = options.ConsumerNodeIds,
            StepTimeout = TimeSpan.FromMinutes(5),
            KeepEffectHistory = options.History ? true : null,
            Clusters = options.Wire ? new RocketMQRehearsalClusters() : null,
            OnProgress = onProgress,
        };
        foreach (var fault in options.Faults ?? [RehearsalFault.AckLost(options.AckLoss), RehearsalFault.SendTimeoutAfterStore(3)])
        {
            rehearsal.Faults.Add(fault);
        }

        return new MigrationRehearsal(rehearsal).RunAsync(onStep, cancellationToken);
    }
}
