namespace DualCluster.RocketMQ.Remoting;

/// <summary>One queue of a topic on a broker. Orders like Java's <c>MessageQueue</c>: topic, broker name (ordinal), queue id.</summary>
internal readonly record struct MessageQueue(string Topic, string BrokerName, int QueueId) : IComparable<MessageQueue>
{
    public int CompareTo(MessageQueue other)
    {
        var byTopic = string.CompareOrdinal(Topic, other.Topic);
        if (byTopic != 0)
        {
            return byTopic;
        }

        var byBroker = string.CompareOrdinal(BrokerName, other.BrokerName);
        return byBroker != 0 ? byBroker : QueueId.CompareTo(other.QueueId);
    }

    public override string ToString() => $"{Topic}@{BrokerName}:{QueueId}";
}
