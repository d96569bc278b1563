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

        if (!broker.TopicExists(topic))
        {
            // As a genuine cluster answers: 4.x TOPIC_NOT_EXIST from the name server (DefaultRequestProcessor.getRouteInfoByTopic),
            // 5.x TOPIC_NOT_FOUND from the proxy (RouteActivity.queryRoute).
            return ValueTask.FromException<BacklogReport>(new ClusterTransportException(
                role, BrokerStatusCodes.TopicNotFound, false, $"Topic '{topic}' does not exist on broker '{broker.Name}'.") { MissingTopic = topic });
        }

        return new(broker.GetBacklog(group, topic));
    }
}
