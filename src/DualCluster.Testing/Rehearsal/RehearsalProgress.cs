namespace DualCluster.Testing;

/// <summary>Where a running rehearsal is, reported every <see cref="RehearsalOptions.ProgressInterval"/> while traffic flows.</summary>
/// <param name="Step">The plan step being walked.</param>
/// <param name="Sent">Sends acknowledged so far (both clusters).</param>
/// <param name="Handled">Messages handled so far (first effects).</param>
/// <param name="Messages">Messages the run sends in all.</param>
/// <param name="Elapsed">Time since the run started.</param>
public sealed record RehearsalProgress(RehearsalStep Step, long Sent, long Handled, int Messages, TimeSpan Elapsed)
{
    /// <summary>Sends per second since the run started.</summary>
    public double SentPerSecond => Elapsed > TimeSpan.Zero ? Sent / Elapsed.TotalSeconds : 0;
}
