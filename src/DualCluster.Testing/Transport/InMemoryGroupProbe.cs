using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>The broker facts about consumer groups, read from an <see cref="InMemoryBroker"/>.</summary>
internal sealed class InMemoryGroupProbe(InMemoryBroker broker, ClusterRole role) : IConsumerGroupProbe
{
    public ValueTask<IReadOnlyCollection<string>> GetConsumerGroupsAsync(string topic, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            broker.Faults.ThrowIfPaused("query consumers");
        }
        catch (InMemoryBrokerException e)
        {
            throw InMemoryClusterTransport.Map(role, e, topic);
        }

        return ValueTask.FromResult(broker.GetConsumerGroups(topic));
    }

    public ValueTask<bool> HasPositionAsync(string group, string topic, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            broker.Faults.ThrowIfPaused("query offsets");
        }
        catch (InMemoryBrokerException e)
        {
            throw InMemoryClusterTransport.Map(role, e, topic);
        }

        return ValueTask.FromResult(broker.HasPosition(group, topic));
    }
}
