namespace DualCluster.Testing;

internal sealed class StoreOutageFault(TimeSpan duration)
    : RehearsalFault(FaultName, $"from step 2 on, the idempotency store is unreachable for {Ms(duration)} per step")
{
    public const string FaultName = "store-outage";

    internal override async Task DuringStepAsync(RehearsalRun run, int stepIndex, CancellationToken cancellationToken)
    {
        if (stepIndex == 0)
        {
            return;
        }

        await run.WaitForStepProgressAsync(stepIndex, 0.2, cancellationToken).ConfigureAwait(false);
        run.StoreOutage.Down();
        run.Note($"{Name}: store down for {Ms(duration)}");
        try
        {
            await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            run.StoreOutage.Up();
        }
    }
}
