using System.Globalization;

namespace DualCluster.Testing;

internal sealed class SlowHandlerFault(double share, TimeSpan lease)
    : RehearsalFault(FaultName, $"{share:P1} of handlers take {Ms(lease * 2)}, twice the {Ms(lease)} lease (and longer than the invisible duration)")
{
    public const string FaultName = "slow-handler";
    private readonly uint _modulus = (uint)Math.Max(1, Math.Round(1 / share));
    private long _slowRuns;

    internal override void Prepare(RehearsalRun run)
    {
        run.FaultSettings["DualCluster:Idempotency:Lease"] = lease.ToString("c", CultureInfo.InvariantCulture);
    }

    internal override async ValueTask BeforeHandlerAsync(RehearsalRun run, MessageContext context, long sequence, CancellationToken cancellationToken)
    {
        if (Fnv(string.Create(CultureInfo.InvariantCulture, $"{run.Options.Seed}:{sequence}")) % _modulus != 0)
        {
            return;
        }

        if (Interlocked.Increment(ref _slowRuns) == 1)
        {
            run.Note($"{Name}: first slow handler (message {sequence}, {Ms(lease * 2)})");
        }

        await Task.Delay(lease * 2, cancellationToken).ConfigureAwait(false);
    }
}
