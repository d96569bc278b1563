using System.Globalization;

namespace DualCluster.Testing;

internal sealed class ConfigFlappingFault(TimeSpan debounce)
    : RehearsalFault(FaultName, $"each reload arrives as a burst (out-of-range, unsafe, unparseable, then real) within the {Ms(debounce)} debounce window; then an invalid reload on its own")
{
    public const string FaultName = "config-flapping";

    internal override bool AppliesReloads => true;

    internal override void Prepare(RehearsalRun run)
    {
        run.FaultSettings["DualCluster:ReloadDebounce"] = debounce.ToString("c", CultureInfo.InvariantCulture);
    }

    internal override async Task ApplyAsync(RehearsalRun run, IReadOnlyDictionary<string, string?> target, CancellationToken cancellationToken)
    {
        var gap = debounce / 8;
        foreach (var flap in new[]
        {
            With(target, ("DualCluster:Producer:NewWeight", "250")),
            With(target, ("DualCluster:Producer:NewWeight", "100"), ("DualCluster:Consumer:NewWeight", "0")),
            With(target, ("DualCluster:Consumer:NewWeight", "lots")),
        })
        {
            run.Fleet.Apply(flap);
            await Task.Delay(gap, cancellationToken).ConfigureAwait(false);
        }

        run.Fleet.Apply(target);
        run.Note($"{Name}: 3 bad reloads then the real one within {Ms(debounce)}");
    }

    internal override async Task DuringStepAsync(RehearsalRun run, int stepIndex, CancellationToken cancellationToken)
    {
        await run.WaitForStepProgressAsync(stepIndex, 0.5, cancellationToken).ConfigureAwait(false);
        await run.WithConfigurationAsync(
            async (target, ct) =>
            {
                var before = run.RejectedReloadsByNode();
                run.Fleet.Apply(With(target, ("DualCluster:Consumer:NewWeight", "-5")));
                var rejected = await run.WaitForRejectionsAsync(before, ct).ConfigureAwait(false);
                run.Fleet.Apply(target);
                run.Note($"{Name}: an invalid reload on its own was rejected by {rejected} node(s); settings saved again");
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static Dictionary<string, string?> With(IReadOnlyDictionary<string, string?> target, params (string Key, string Value)[] changes)
    {
        var copy = new Dictionary<string, string?>(target, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in changes)
        {
            copy[key] = value;
        }

        return copy;
    }
}
