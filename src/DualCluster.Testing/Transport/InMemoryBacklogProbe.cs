using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>Reads backlog straight from an <see cref="InMemoryBroker"/>: every count is known.</summary>
internal sealed class InMemoryBacklogProbe(InMemoryBroker broker, ClusterRole role) : IBacklogProbe
{
    public ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<BacklogReport>(cancellationToken);
        }

        if (broker.Faults.IsPaused)
        {
            return ValueTask.FromException<BacklogReport>(new ClusterTransportException(
                role, BrokerStatusCodes.Unavailable, true, "The cluster is paused: the backlog cannot be read; retry after it resumes."));
        }

        return new(broker.GetBacklog(group, topic));
    }
}
