namespace DualCluster.Testing;

/// <summary>
/// The fleet registry goes away in the middle of a step, as a Redis or PostgreSQL outage would: every node keeps its last
/// proven routing (a producer's topic stays where it was proven, a draining consumer stays) until it is back. Does nothing
/// when the guard decides on the configuration only.
/// </summary>
internal sealed class RegistryOutageFault(TimeSpan duration)
    : RehearsalFault(FaultName, $"from step 2 on, the fleet registry is unreachable for {Ms(duration)} per step, from a fifth into the step")
{
    public const string FaultName = "registry-outage";

    internal override async Task DuringStepAsync(RehearsalRun run, int stepIndex, CancellationToken cancellationToken)
    {
        if (stepIndex == 0 || run.FleetRegistry is null)
        {
            return;
        }

        await run.WaitForStepProgressAsync(stepIndex, 0.2, cancellationToken).ConfigureAwait(false);
        run.RegistryOutage.Down();
        run.Note($"{Name}: fleet registry down for {Ms(duration)}");
        try
        {
            await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            run.RegistryOutage.Up();
        }
    }
}
