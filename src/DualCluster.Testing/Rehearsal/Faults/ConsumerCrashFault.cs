namespace DualCluster.Testing;

internal sealed class ConsumerCrashFault(int crashesPerStep)
    : RehearsalFault(FaultName, $"{crashesPerStep} consumer node(s) per step die mid-handler (no graceful stop) and are restarted under the same id")
{
    public const string FaultName = "consumer-crash";

    internal override async Task DuringStepAsync(RehearsalRun run, int stepIndex, CancellationToken cancellationToken)
    {
        var random = new Random(run.Options.Seed ^ (int)Fnv(Name) ^ stepIndex);
        for (var i = 0; i < crashesPerStep; i++)
        {
            await run.WaitForStepProgressAsync(stepIndex, 0.3 + (0.4 * i / crashesPerStep), cancellationToken).ConfigureAwait(false);
            var live = run.LiveConsumers;
            if (live.Count == 0)
            {
                return;
            }

            var victim = live[random.Next(live.Count)];
            await run.CrashAsync(victim).ConfigureAwait(false);
            run.Note($"{Name}: {victim.Id} killed");
            await Task.Delay(TimeSpan.FromMilliseconds(150), cancellationToken).ConfigureAwait(false);
            await run.JoinConsumerAsync(victim.Id, cancellationToken).ConfigureAwait(false);
            run.Note($"{Name}: {victim.Id} restarted");
        }
    }
}
