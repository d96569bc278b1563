namespace DualCluster.Testing;

internal sealed class SendTimeoutAfterStoreFault(int perStepAndCluster)
    : RehearsalFault(FaultName, $"{perStepAndCluster} sends per step and cluster time out after the broker stored them; the retry stores a second copy")
{
    public const string FaultName = "send-timeout-after-store";

    internal override Task DuringStepAsync(RehearsalRun run, int stepIndex, CancellationToken cancellationToken)
    {
        run.Old.Faults.FailNextSendsAfterStoring(perStepAndCluster);
        run.New.Faults.FailNextSendsAfterStoring(perStepAndCluster);
        run.Note($"{Name}: next {perStepAndCluster} sends on each cluster store, then time out");
        return Task.CompletedTask;
    }
}
