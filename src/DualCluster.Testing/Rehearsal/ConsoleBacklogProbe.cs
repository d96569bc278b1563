using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>
/// A node's backlog probe with the operator's console beside it: figures the transport reports unknown are read from
/// the broker itself, as an operator reads them from the cluster's console (see
/// <see cref="RehearsalClusters.OperatorReadsBacklogFromConsole"/>). Known figures stay the transport's.
/// </summary>
internal sealed class ConsoleBacklogProbe(IBacklogProbe inner, InMemoryBroker broker, ClusterRole role) : IBacklogProbe
{
    private readonly InMemoryBacklogProbe _console = new(broker, role);

    public async ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default)
    {
        var report = await inner.GetBacklogAsync(group, topic, cancellationToken).ConfigureAwait(false);
        if (report.UnknownFigures.Count == 0)
        {
            return report;
        }

        var console = await _console.GetBacklogAsync(group, topic, cancellationToken).ConfigureAwait(false);
        return report with
        {
            Ready = report.Ready ?? console.Ready,
            InFlight = report.InFlight ?? console.InFlight,
            Retry = report.Retry ?? console.Retry,
            Delayed = report.Delayed ?? console.Delayed,
            Remark = $"{string.Join(", ", report.UnknownFigures)} read from the console (the rehearsal stands in for the operator)",
        };
    }
}
