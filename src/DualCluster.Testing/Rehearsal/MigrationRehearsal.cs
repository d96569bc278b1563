namespace DualCluster.Testing;

/// <summary>
/// Rehearses a migration: a fleet of producer and consumer nodes (each its own host, DI container and
/// configuration) on two in-memory clusters, continuous traffic, the plan's steps applied by configuration
/// reloads, faults injected on a seeded schedule, and an exact ledger of every message. Run it against your own
/// handler (<see cref="RehearsalOptions.Handler"/>) and store (<see cref="RehearsalOptions.IdempotencyStore"/>)
/// before you walk the real steps.
/// </summary>
/// <example>
/// <code>
/// var options = new RehearsalOptions { Messages = 20_000, Handler = (ctx, ct) => myHandler.HandleAsync(ctx, ct) };
/// foreach (var fault in RehearsalFault.All()) options.Faults.Add(fault);
/// var result = await new MigrationRehearsal(options).RunAsync();
/// Assert.True(result.Passed); // 0 lost, 0 duplicate effects
/// </code>
/// </example>
public sealed class MigrationRehearsal
{
    /// <summary>Creates a rehearsal.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public MigrationRehearsal(RehearsalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Messages, 1, nameof(options.Messages));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ProducerNodes, 1, nameof(options.ProducerNodes));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ConsumerNodes, 1, nameof(options.ConsumerNodes));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ProducerConcurrency, 1, nameof(options.ProducerConcurrency));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ConsumerConcurrency, 1, nameof(options.ConsumerConcurrency));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MessagesPerSecond, nameof(options.MessagesPerSecond));
        if (options.Plan is not { Count: > 0 })
        {
            throw new ArgumentException("The plan needs at least one step.", nameof(options));
        }

        if (options.Faults.Count(f => f.AppliesReloads) > 1)
        {
            throw new ArgumentException("At most one fault may apply the plan's reloads.", nameof(options));
        }

        Options = options;
    }

    /// <summary>The settings of this rehearsal.</summary>
    public RehearsalOptions Options { get; }

    /// <summary>Runs the rehearsal to the end: every step applied, the traffic sent, the fleet settled (or quiet).</summary>
    /// <param name="onStep">Called with each step's report as the step ends.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <exception cref="TimeoutException">The fleet did not reach an expected state within <see cref="RehearsalOptions.StepTimeout"/>.</exception>
    public async Task<RehearsalResult> RunAsync(Action<RehearsalStepReport>? onStep = null, CancellationToken cancellationToken = default)
    {
        var run = new RehearsalRun(Options);
        await using (run.ConfigureAwait(false))
        {
            return await run.RunAsync(onStep, cancellationToken).ConfigureAwait(false);
        }
    }
}
