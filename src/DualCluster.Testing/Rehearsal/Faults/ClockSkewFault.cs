using System.Globalization;

namespace DualCluster.Testing;

internal sealed class ClockSkewFault(TimeSpan maxSkew)
    : RehearsalFault(FaultName, $"every node's clock is off by up to {maxSkew.TotalMinutes:0.#} minutes either way")
{
    public const string FaultName = "clock-skew";

    internal override void Prepare(RehearsalRun run)
    {
        var seed = run.Options.Seed;
        run.ClockOffsets = nodeId =>
        {
            var random = new Random(seed ^ (int)Fnv(nodeId));
            return TimeSpan.FromTicks((long)((random.NextDouble() * 2 - 1) * maxSkew.Ticks));
        };
        run.Note(string.Create(CultureInfo.InvariantCulture, $"{Name}: node clocks off by up to ±{maxSkew.TotalMinutes:0.#} min"));
    }
}
