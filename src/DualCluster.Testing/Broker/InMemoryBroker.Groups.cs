namespace DualCluster.Testing;

/// <summary>What the broker knows of consumer groups (the facts a 4.x broker answers to QUERY_TOPIC_CONSUME_BY_WHO and offset queries).</summary>
public sealed partial class InMemoryBroker
{
    /// <summary>The groups that subscribed to <paramref name="topic"/> (each holds a position on its queues), ordered by name.</summary>
    public IReadOnlyCollection<string> GetConsumerGroups(string topic)
    {
        // As a 4.9.x broker answers QUERY_TOPIC_CONSUME_BY_WHO (AdminBrokerProcessor.queryTopicConsumeByWho): groups with a
        // live subscription plus groups with offsets of the topic (ConsumerOffsetManager.whichGroupByTopic). Here a
        // subscription is what records a group's offsets, and it stays after the consumer stops, as offsets do.
        ArgumentNullException.ThrowIfNull(topic);
        lock (_gate)
        {
            return [.. _subscriptions.Keys.Where(k => k.Topic == topic).Select(k => k.Group).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// Whether <paramref name="group"/> holds a position on <paramref name="topic"/>: it subscribed (or received) once, so
    /// every message sent from then on reaches it, connected or not.
    /// </summary>
    public bool HasPosition(string group, string topic)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(topic);
        lock (_gate)
        {
            return _subscriptions.ContainsKey((group, topic));
        }
    }
}
