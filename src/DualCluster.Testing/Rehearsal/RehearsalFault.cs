using System.Globalization;

namespace DualCluster.Testing;

/// <summary>
/// A named, seedable fault a <see cref="MigrationRehearsal"/> injects while the fleet walks the plan. Every random
/// decision a fault makes comes from the run's <see cref="RehearsalOptions.Seed"/> and the fault's name, so a run
/// repeats. Create faults with the factory methods, by name (<see cref="Create"/>), or from a list (<see cref="Parse"/>).
/// </summary>
public abstract class RehearsalFault
{
    private protected RehearsalFault(string name, string description)
    {
        Name = name;
        Description = description;
    }

    /// <summary>The fault names <see cref="Create"/> accepts, in catalogue order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        AckLostFault.FaultName,
        ConsumerCrashFault.FaultName,
        SendTimeoutAfterStoreFault.FaultName,
        ClusterOutageFault.FaultName,
        StoreOutageFault.FaultName,
        ConfigFlappingFault.FaultName,
        SlowHandlerFault.FaultName,
        ClockSkewFault.FaultName,
        RebalanceStormFault.FaultName,
        RegistryOutageFault.FaultName,
    ];

    /// <summary>The fault's name (kebab-case, as on the command line).</summary>
    public string Name { get; }

    /// <summary>What the fault does, in one sentence.</summary>
    public string Description { get; }

    /// <summary>
    /// A broker loses acks: the consumer is told the ack succeeded but the broker redelivers the message after its
    /// invisible duration, possibly to another node.
    /// </summary>
    /// <param name="probability">Share of acks lost on both clusters (default 0.02).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside 0–1.</exception>
    public static RehearsalFault AckLost(double probability = 0.02)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(probability, 0d);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(probability, 1d);
        return new AckLostFault(probability);
    }

    /// <summary>
    /// In every step a consumer node's process dies in the middle of handling: its host is torn down without a
    /// graceful stop (handlers never finish, nothing is acked or released, its claims hold until their lease ends),
    /// then a replacement with the same node id starts, as an orchestrator would restart the pod.
    /// </summary>
    /// <param name="crashesPerStep">Crashes per step (default 1).</param>
    public static RehearsalFault ConsumerCrash(int crashesPerStep = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(crashesPerStep, 1);
        return new ConsumerCrashFault(crashesPerStep);
    }

    /// <summary>
    /// In every step, sends on each cluster time out after the broker stored the message (a lost response): the
    /// producer's retry stores a second copy with the same idempotency key.
    /// </summary>
    /// <param name="perStepAndCluster">Such sends per step and cluster (default 10).</param>
    public static RehearsalFault SendTimeoutAfterStore(int perStepAndCluster = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perStepAndCluster, 1);
        return new SendTimeoutAfterStoreFault(perStepAndCluster);
    }

    /// <summary>
    /// From step 2 on, one cluster (Old and New in turn) is unavailable for a period: sends, receives, acks and backlog
    /// queries fail transiently.
    /// </summary>
    /// <param name="duration">How long each outage lasts (default 400 ms).</param>
    public static RehearsalFault ClusterOutage(TimeSpan? duration = null) => new ClusterOutageFault(Positive(duration ?? TimeSpan.FromMilliseconds(400)));

    /// <summary>From step 2 on, the shared idempotency store is unreachable for a period in every step.</summary>
    /// <param name="duration">How long each outage lasts (default 300 ms).</param>
    public static RehearsalFault StoreOutage(TimeSpan? duration = null) => new StoreOutageFault(Positive(duration ?? TimeSpan.FromMilliseconds(300)));

    /// <summary>
    /// Every step's reload arrives as a burst within the debounce window — an out-of-range weight, an unsafe order, an
    /// unparseable value, then the real settings — and once the step is applied an invalid reload arrives on its own
    /// (rejected, the last valid routing kept) before the step's settings are saved again.
    /// </summary>
    /// <param name="debounce">The fleet's <c>ReloadDebounce</c> during the run (default 100 ms).</param>
    public static RehearsalFault ConfigFlapping(TimeSpan? debounce = null) => new ConfigFlappingFault(Positive(debounce ?? TimeSpan.FromMilliseconds(100)));

    /// <summary>
    /// Some handlers run longer than the idempotency lease (and longer than the invisible duration), so the broker
    /// redelivers the message to another node while the first is still working on it.
    /// </summary>
    /// <param name="share">Share of messages that are slow (default 0.002).</param>
    /// <param name="lease">The fleet's <c>Idempotency:Lease</c> during the run (default 2 s); a slow handler takes twice as long.</param>
    public static RehearsalFault SlowHandler(double share = 0.002, TimeSpan? lease = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(share, 0d);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(share, 1d);
        return new SlowHandlerFault(share, Positive(lease ?? TimeSpan.FromSeconds(2)));
    }

    /// <summary>Every node's clock (its <see cref="TimeProvider"/>) is off by up to <paramref name="maxSkew"/> either way.</summary>
    /// <param name="maxSkew">The largest offset (default 10 minutes, longer than the lease).</param>
    public static RehearsalFault ClockSkew(TimeSpan? maxSkew = null) => new ClockSkewFault(Positive(maxSkew ?? TimeSpan.FromMinutes(10)));

    /// <summary>In every step consumer nodes join and others leave (gracefully), as in a rolling deployment or autoscaling.</summary>
    /// <param name="nodesPerStep">Joins (and as many leaves) per step (default 2).</param>
    public static RehearsalFault RebalanceStorm(int nodesPerStep = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodesPerStep, 1);
        return new RebalanceStormFault(nodesPerStep);
    }

    /// <summary>
    /// The shared fleet registry is unreachable for <paramref name="duration"/> in every step from step 2 on: nothing may
    /// move on facts meanwhile (producers keep each topic's last proven cluster, draining consumers stay), and nothing is
    /// lost. No effect when the guard decides on the configuration only.
    /// </summary>
    /// <param name="duration">How long the registry is down per step (default 400 ms, four heartbeats of the rehearsal).</param>
    public static RehearsalFault RegistryOutage(TimeSpan? duration = null) => new RegistryOutageFault(Positive(duration ?? TimeSpan.FromMilliseconds(400)));

    /// <summary>Creates the fault named <paramref name="name"/> with its default settings.</summary>
    /// <exception cref="ArgumentException">No fault has that name.</exception>
    public static RehearsalFault Create(string name) => name?.Trim().ToLowerInvariant() switch
    {
        AckLostFault.FaultName => AckLost(),
        ConsumerCrashFault.FaultName => ConsumerCrash(),
        SendTimeoutAfterStoreFault.FaultName => SendTimeoutAfterStore(),
        ClusterOutageFault.FaultName => ClusterOutage(),
        StoreOutageFault.FaultName => StoreOutage(),
        ConfigFlappingFault.FaultName => ConfigFlapping(),
        SlowHandlerFault.FaultName => SlowHandler(),
        ClockSkewFault.FaultName => ClockSkew(),
        RebalanceStormFault.FaultName => RebalanceStorm(),
        RegistryOutageFault.FaultName => RegistryOutage(),
        _ => throw new ArgumentException($"Unknown fault '{name}'. Known faults: {string.Join(", ", Names)} (or 'all').", nameof(name)),
    };

    /// <summary>Every fault of the catalogue with its default settings.</summary>
    public static IReadOnlyList<RehearsalFault> All() => [.. Names.Select(Create)];

    /// <summary>Parses a comma-separated list of fault names, <c>all</c>, or <c>none</c>.</summary>
    /// <exception cref="ArgumentException">A name is unknown.</exception>
    public static IReadOnlyList<RehearsalFault> Parse(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var names = list.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 1 && string.Equals(names[0], "all", StringComparison.OrdinalIgnoreCase))
        {
            return All();
        }

        if (names.Length == 0 || (names.Length == 1 && string.Equals(names[0], "none", StringComparison.OrdinalIgnoreCase)))
        {
            return [];
        }

        return [.. names.Distinct(StringComparer.OrdinalIgnoreCase).Select(Create)];
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>Before the fleet starts: adjust settings, brokers, clocks.</summary>
    internal virtual void Prepare(RehearsalRun run)
    {
    }

    /// <summary>Runs alongside the traffic once step <paramref name="stepIndex"/> of the plan is applied.</summary>
    internal virtual Task DuringStepAsync(RehearsalRun run, int stepIndex, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs before the handler of every delivery that passed the gate.</summary>
    internal virtual ValueTask BeforeHandlerAsync(RehearsalRun run, MessageContext context, long sequence, CancellationToken cancellationToken) => default;

    /// <summary>Whether this fault applies the plan's reloads itself (<see cref="ApplyAsync"/>).</summary>
    internal virtual bool AppliesReloads => false;

    /// <summary>Applies <paramref name="target"/> to the fleet, the fault's way; the last reload must be <paramref name="target"/>.</summary>
    internal virtual Task ApplyAsync(RehearsalRun run, IReadOnlyDictionary<string, string?> target, CancellationToken cancellationToken)
    {
        run.Fleet.Apply(target);
        return Task.CompletedTask;
    }

    /// <summary>A seeded random source for this fault in this run.</summary>
    private protected Random RandomFor(RehearsalRun run) => new(run.Options.Seed ^ (int)Fnv(Name));

    /// <summary>A stable hash of <paramref name="text"/>.</summary>
    private protected static uint Fnv(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    private protected static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";

    private static TimeSpan Positive(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
        return value;
    }
}
