namespace DualCluster.Testing;

internal sealed class AckLostFault(double probability)
    : RehearsalFault(FaultName, $"{probability:P1} of acks are lost on both clusters; the broker redelivers those messages")
{
    public const string FaultName = "ack-lost";

    internal override void Prepare(RehearsalRun run)
    {
        run.Old.Faults.AckLossProbability = probability;
        run.New.Faults.AckLossProbability = probability;
    }
}
