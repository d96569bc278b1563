namespace DualCluster.Testing;

internal sealed class ClusterOutageFault(TimeSpan duration)
    : RehearsalFault(FaultName, $"from step 2 on, Old and New in turn are unavailable for {Ms(duration)} per step")
{
    public const string FaultName = "cluster-outage";

    internal override async Task DuringStepAsync(RehearsalRun run, int stepIndex, CancellationToken cancellationToken)
    {
        if (stepIndex == 0)
        {
            return;
        }

        var role = stepIndex % 2 == 1 ? ClusterRole.Old : ClusterRole.New;
        await run.WaitForStepProgressAsync(stepIndex, 0.2, cancellationToken).ConfigureAwait(false);
        var broker = run.Broker(role);
        broker.Faults.Pause();
        run.Note($"{Name}: {role} down for {Ms(duration)}");
        try
        {
            await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            broker.Faults.Resume();
        }
    }
}
