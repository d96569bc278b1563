using DualCluster.Fleet;
using DualCluster.Idempotency;
using DualCluster.Transport;
using Microsoft.Extensions.Logging;

namespace DualCluster.Testing;

/// <summary>Settings of one <see cref="MigrationRehearsal"/> run.</summary>
public sealed class RehearsalOptions
{
    /// <summary>Messages the traffic sends over the whole plan (default 20,000).</summary>
    public int Messages { get; set; } = 20_000;

    /// <summary>Seed of every random decision (broker faults, which node crashes, clock offsets…), so a run repeats.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Producer nodes, each its own host (default 6).</summary>
    public int ProducerNodes { get; set; } = 6;

    /// <summary>Consumer nodes, each its own host (default 6).</summary>
    public int ConsumerNodes { get; set; } = 6;

    /// <summary>The traffic's rate over the whole fleet; 0 (default) sends as fast as the fleet can.</summary>
    public double MessagesPerSecond { get; set; }

    /// <summary>Sends in flight per producer node (default 8).</summary>
    public int ProducerConcurrency { get; set; } = 8;

    /// <summary>Handler calls at once per consumer node and cluster (default 8).</summary>
    public int ConsumerConcurrency { get; set; } = 8;

    /// <summary>How long a delivered message stays invisible while handled (default 1 s, short so redeliveries come quickly).</summary>
    public TimeSpan InvisibleDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The faults to inject (default none). See <see cref="RehearsalFault"/>.</summary>
    public IList<RehearsalFault> Faults { get; } = [];

    /// <summary>The steps the operator walks; the messages are split evenly between them (default <see cref="RehearsalStep.FiveStepsWithRollbacks"/>).</summary>
    public IReadOnlyList<RehearsalStep> Plan { get; set; } = RehearsalStep.FiveStepsWithRollbacks;

    /// <summary><c>DualCluster:SafeOrderGuard</c> on every node (default true). Off only to show what the guard prevents.</summary>
    public bool SafeOrderGuard { get; set; } = true;

    /// <summary>
    /// Before the plan starts, apply one unsafe reload (producers to New while no consumer reads it) and wait until
    /// every node rejected it (default true; ignored when <see cref="SafeOrderGuard"/> is off).
    /// </summary>
    public bool DemonstrateGuard { get; set; } = true;

    /// <summary>
    /// Your handler, run for every delivery that passes the idempotency gate, before the rehearsal records the
    /// effect in its ledger. Null: no work beyond the ledger. Throwing makes the message retry, as in production.
    /// </summary>
    public Func<MessageContext, CancellationToken, Task>? Handler { get; set; }

    /// <summary>The store every node shares (e.g. your Redis or PostgreSQL store). Null: an in-memory store owned by the run.</summary>
    public IIdempotencyStore? IdempotencyStore { get; set; }

    /// <summary>
    /// Extra shared configuration keys (full paths such as <c>DualCluster:Idempotency:Lease</c>) laid over the
    /// rehearsal's defaults, e.g. your production resilience settings.
    /// </summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Called on each node's <see cref="DualClusterBuilder"/> after the rehearsal registered its parts.</summary>
    public Action<DualClusterBuilder>? ConfigureNode { get; set; }

    /// <summary>Called on each node's logging builder (default: no logging).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; set; }

    /// <summary>
    /// Wraps each node's backlog probe, e.g. to rehearse a transport that cannot see one of the drain figures.
    /// Null: the in-memory probe, which sees every figure.
    /// </summary>
    public Func<IBacklogProbe, IBacklogProbe>? BacklogProbe { get; set; }

    /// <summary>
    /// Whether the ledger keeps where every effect came from (node, cluster, attempt, fencing token, time), reported
    /// with each duplicated message. Null (default): only for runs of up to <see cref="RehearsalLedger.HistoryLimit"/> messages.
    /// </summary>
    public bool? KeepEffectHistory { get; set; }

    /// <summary>
    /// Where the two clusters are served from. Null (default): the in-memory brokers, reached in-process. Set it to
    /// rehearse over a wire protocol, e.g. <c>RocketMQRehearsalClusters</c> from DualCluster.RocketMQ.Testing (Old on a
    /// loopback 4.x remoting broker, New on a loopback 5.x gRPC broker).
    /// </summary>
    public RehearsalClusters? Clusters { get; set; }

    /// <summary>
    /// Decide on the configuration only, as before the fleet registry existed (default false: every node publishes to a
    /// shared fleet registry and the guard decides on live facts). On only to show what the facts prevent.
    /// </summary>
    public bool ConfigOnlyGuard { get; set; }

    /// <summary>The fleet registry every node shares (e.g. a Redis or PostgreSQL one). Null: an in-memory registry owned by the run.</summary>
    public IFleetRegistry? FleetRegistry { get; set; }

    /// <summary>Producer node ids (default null: ids spread evenly over the buckets). Their count overrides <see cref="ProducerNodes"/>.</summary>
    public IReadOnlyList<string>? ProducerNodeIds { get; set; }

    /// <summary>Consumer node ids (default null: ids spread evenly over the buckets). Their count overrides <see cref="ConsumerNodes"/>.</summary>
    public IReadOnlyList<string>? ConsumerNodeIds { get; set; }

    /// <summary>The topic (default <c>rehearsal</c>). The consumer group gets a unique name per run.</summary>
    public string Topic { get; set; } = "rehearsal";

    /// <summary>Called every <see cref="ProgressInterval"/> while the traffic runs (on a timer thread; it must not throw), e.g. to show progress within a step.</summary>
    public Action<RehearsalProgress>? OnProgress { get; set; }

    /// <summary>How often <see cref="OnProgress"/> is called (default 250 ms).</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest wait for one expected state (every node applied a reload, the fleet settled…); default 90 s.</summary>
    public TimeSpan StepTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// When the traffic is over and messages are still outstanding, how long without progress before the run ends
    /// and reports them lost (default 10 s).
    /// </summary>
    public TimeSpan QuietPeriod { get; set; } = TimeSpan.FromSeconds(10);
}
