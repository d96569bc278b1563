namespace DualCluster;

/// <summary>
/// The <c>"DualCluster"</c> configuration section. One shared file for the fleet usually carries the
/// weights; a node's own file or environment variables carry its <see cref="NodeId"/> and overrides.
/// Validated at start and on every reload; an invalid or unsafe reload is rejected and the node keeps
/// its last valid routing.
/// </summary>
public sealed class DualClusterOptions
{
    /// <summary>The conventional configuration section name.</summary>
    public const string SectionName = "DualCluster";

    /// <summary>This node's id, hashed into its bucket. Null: <c>POD_NAME</c>, else <c>HOSTNAME</c>, else the machine name.</summary>
    public string? NodeId { get; set; }

    /// <summary>Connection settings of the two clusters.</summary>
    public ClustersOptions Clusters { get; set; } = new();

    /// <summary>Where producers write.</summary>
    public ProducerRoutingOptions Producer { get; set; } = new();

    /// <summary>Where consumers read.</summary>
    public ConsumerRoutingOptions Consumer { get; set; } = new();

    /// <summary>Per-node overrides keyed by node id; they win over the weights.</summary>
    public Dictionary<string, NodeOverrideOptions> Overrides { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Idempotent consumption.</summary>
    public IdempotencyOptions Idempotency { get; set; } = new();

    /// <summary>Timeouts, retries and circuit breaking of sends, per cluster.</summary>
    public ResilienceOptions Resilience { get; set; } = new();

    /// <summary>
    /// The safe-order guard. Leave on: switching it off lets a configuration that loses messages through and
    /// lets consumers leave a cluster without draining it first (only for rehearsals that demonstrate the loss).
    /// </summary>
    public bool SafeOrderGuard { get; set; } = true;

    /// <summary>How long to wait after a configuration change before applying it (a file save fires several change events).</summary>
    public TimeSpan ReloadDebounce { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The heartbeat this node publishes to the fleet registry (when one is registered).</summary>
    public FleetOptions Fleet { get; set; } = new();

    /// <summary>What the safe-order guard needs beyond what it can see.</summary>
    public GuardOptions Guard { get; set; } = new();
}

/// <summary>
/// The fleet registry heartbeat. With a registry (<c>UseFleetRegistry</c>, <c>UseRedisFleetRegistry</c>,
/// <c>UsePostgreSqlFleetRegistry</c>) the guard decides on live facts: which groups hold a position on a cluster,
/// which producers still write it. Without one it falls back to the configuration and says so at start.
/// </summary>
public sealed class FleetOptions
{
    /// <summary>How often this node publishes its record and reads everyone's.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a record lives unless published again; a node whose record lapsed counts as gone. At least two
    /// heartbeat intervals, so one slow publish does not make a live node vanish.
    /// </summary>
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a send keeps counting as "this node writes the topic to that cluster": the last consumers of a group
    /// leave Old only after no live producer wrote the topic to Old within this window (and the backlog is zero).
    /// Default 30 s; keep it above the longest a send can take, retries included.
    /// </summary>
    public TimeSpan WriteWindow { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Groups the guard must wait for that no fact source can see.</summary>
public sealed class GuardOptions
{
    /// <summary>
    /// Per topic, consumer groups that must hold a position on New before any producer sends the topic there
    /// (for example another application's group that the registry and the broker do not show yet):
    /// <c>DualCluster:Guard:RequiredGroups:orders:0=billing</c>.
    /// </summary>
    public Dictionary<string, List<string>> RequiredGroups { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The Old and New cluster settings.</summary>
public sealed class ClustersOptions
{
    /// <summary>The cluster being left.</summary>
    public ClusterOptions Old { get; set; } = new();

    /// <summary>The cluster being moved to.</summary>
    public ClusterOptions New { get; set; } = new();

    /// <summary>The settings of <paramref name="role"/>.</summary>
    public ClusterOptions this[ClusterRole role] => role == ClusterRole.Old ? Old : New;
}

/// <summary>How to reach one cluster. Which keys matter depends on <see cref="Protocol"/>.</summary>
public sealed class ClusterOptions
{
    /// <summary>The transport: <c>Grpc</c> (RocketMQ 5.x, TDMQ 5.x), <c>Remoting</c> (RocketMQ 4.x name servers) or <c>InMemory</c> (tests).</summary>
    public string? Protocol { get; set; }

    /// <summary>The 5.x proxy endpoint (<c>host:port</c> or a URL).</summary>
    public string? Endpoint { get; set; }

    /// <summary>4.x name server addresses separated by <c>;</c>.</summary>
    public string? NameServers { get; set; }

    /// <summary>Resource namespace (TDMQ namespace / instance id); empty for none.</summary>
    public string? Namespace { get; set; }

    /// <summary>AccessKey for request signing; empty for none. Never logged.</summary>
    public string? AccessKey { get; set; }

    /// <summary>SecretKey for request signing. Never logged.</summary>
    public string? SecretKey { get; set; }

    /// <summary>Optional security (session) token sent with signed requests. Never logged.</summary>
    public string? SecurityToken { get; set; }

    /// <summary>Whether to use TLS.</summary>
    public bool Tls { get; set; }

    /// <summary>Skip server certificate validation (test clusters only).</summary>
    public bool AllowInvalidCertificates { get; set; }

    /// <summary>Largest body accepted client-side.</summary>
    public int MaxBodySize { get; set; } = MessageValidator.DefaultMaxBodySize;

    /// <summary>Per-request timeout on the wire.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Transport-specific extra settings.</summary>
    public Dictionary<string, string> Settings { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether connection-relevant settings equal (secrets included). Used to warn that they change only on restart.</summary>
    internal bool ConnectionEquals(ClusterOptions other) =>
        string.Equals(Protocol, other.Protocol, StringComparison.OrdinalIgnoreCase)
        && Endpoint == other.Endpoint && NameServers == other.NameServers && Namespace == other.Namespace
        && AccessKey == other.AccessKey && SecretKey == other.SecretKey && SecurityToken == other.SecurityToken
        && Tls == other.Tls && AllowInvalidCertificates == other.AllowInvalidCertificates;
}

/// <summary>Producer routing.</summary>
public sealed class ProducerRoutingOptions
{
    /// <summary>Per cent of producer nodes (by bucket) that write New, 0–100.</summary>
    public int NewWeight { get; set; }

    /// <summary>Write every message to both clusters (shadow verification); consumers dedupe by idempotency key.</summary>
    public bool Mirror { get; set; }

    /// <summary><c>None</c>, or <c>OtherCluster</c> to send to the other cluster when the target fails (only while it has readers).</summary>
    public string Failover { get; set; } = "None";
}

/// <summary>Consumer routing.</summary>
public sealed class ConsumerRoutingOptions
{
    /// <summary>Per cent of consumer nodes (by bucket) that read New, 0–100.</summary>
    public int NewWeight { get; set; }

    /// <summary>Every node reads both clusters (recommended during the migration).</summary>
    public bool DoubleRead { get; set; }

    /// <summary>How often a draining node asks Old for the group's backlog.</summary>
    public TimeSpan DrainCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a cluster must stay drained (backlog zero, no producer configured to write it) before the last
    /// consumers leave it. A send that picked the cluster under the previous routing may still be in its retries when
    /// the backlog first reads zero; set this above the longest a send can take (attempt timeout × (retries + 1) plus
    /// the back-off delays) plus the reload debounce. Default zero: leave at the first drained check.
    /// </summary>
    public TimeSpan DrainGracePeriod { get; set; }

    /// <summary>
    /// Treat Old as drained when its transport cannot report a backlog. Off by default: unknown counts as
    /// not drained. Turn on only after checking the backlog with the broker's own tools.
    /// </summary>
    public bool AssumeOldDrainedWhenUnknown { get; set; }
}

/// <summary>A node's explicit targets; null keeps the weight-derived one.</summary>
public sealed class NodeOverrideOptions
{
    /// <summary><c>Old</c> or <c>New</c>.</summary>
    public string? Producer { get; set; }

    /// <summary><c>Old</c>, <c>New</c> or <c>Both</c>.</summary>
    public string? Consumer { get; set; }
}

/// <summary>Idempotent consumption.</summary>
public sealed class IdempotencyOptions
{
    /// <summary>Whether the gate runs. Must be on before any producer moves (the guard enforces it).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a processed key is remembered; must exceed the longest redelivery window.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a claim protects a key in processing; must exceed the slowest handler.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Record a hash of each body with its key, and report (log + <c>dualcluster.idempotency.payload_mismatches</c>)
    /// a message whose key was processed before with a different body. Off by default: it costs a SHA-256 per message.
    /// </summary>
    public bool ValidatePayload { get; set; }

    /// <summary>Redelivery delay asked for when another node holds the key.</summary>
    public TimeSpan HeldElsewhereRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When the store cannot be reached to claim a key, how long the gate keeps the message in hand and retries the
    /// claim (with back-off) before it hands the message back for redelivery. Retrying in hand costs no delivery
    /// attempt; every hand-back does, and a message handed back more often than the group's maximum attempts goes to
    /// the dead-letter queue. A consumer holds a message for at most half its invisible duration (30 s by default),
    /// whatever this says, so the broker does not hand it to another node meanwhile. Zero (the default) hands the
    /// message back at once: under full load, many messages held at once through an outage and retried together made
    /// more claims lapse afterwards in the rehearsal's soak (see benchmarks/RESULTS.md), so holding is opt-in.
    /// </summary>
    public TimeSpan StoreOutageHold { get; set; } = TimeSpan.Zero;
}

/// <summary>Send resilience, applied per cluster.</summary>
public sealed class ResilienceOptions
{
    /// <summary>Timeout of one send attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after the first attempt, for transient errors only.</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Base delay of the jittered exponential back-off.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Failure ratio over the sampling window that opens the breaker.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Calls in the sampling window before the breaker may open.</summary>
    public int BreakerMinimumThroughput { get; set; } = 20;

    /// <summary>Sampling window of the breaker.</summary>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the breaker stays open.</summary>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}
