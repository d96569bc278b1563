namespace DualCluster.Testing;

internal sealed class RebalanceStormFault(int nodesPerStep)
    : RehearsalFault(FaultName, $"{nodesPerStep} consumer node(s) join and {nodesPerStep} leave in every step")
{
    public const string FaultName = "rebalance-storm";

    internal override async Task DuringStepAsync(RehearsalRun run, int stepIndex, CancellationToken cancellationToken)
    {
        var random = new Random(run.Options.Seed ^ (int)Fnv(Name) ^ stepIndex);
        for (var i = 0; i < nodesPerStep; i++)
        {
            await run.WaitForStepProgressAsync(stepIndex, 0.1 + (0.6 * i / nodesPerStep), cancellationToken).ConfigureAwait(false);
            var joined = await run.JoinConsumerAsync(run.NextStormNodeId(random), cancellationToken).ConfigureAwait(false);
            var live = run.LiveConsumers.Where(n => n != joined).ToArray();
            if (live.Length == 0)
            {
                continue;
            }

            var leaving = live[random.Next(live.Length)];
            await run.LeaveAsync(leaving, cancellationToken).ConfigureAwait(false);
            run.Note($"{Name}: {joined.Id} joined, {leaving.Id} left");
        }
    }
}
