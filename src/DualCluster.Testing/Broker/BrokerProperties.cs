namespace DualCluster.Testing;

/// <summary>System properties the <see cref="InMemoryBroker"/> adds to messages it moves between topics (the RocketMQ names).</summary>
public static class BrokerProperties
{
    /// <summary>On a message in a retry or dead-letter topic: the topic it was first sent to.</summary>
    public const string RetryTopic = "RETRY_TOPIC";

    /// <summary>On a message in a retry or dead-letter topic: the id of the message it is a copy of.</summary>
    public const string OriginMessageId = "ORIGIN_MESSAGE_ID";

    /// <summary>On a message in a dead-letter topic: the topic it was first sent to.</summary>
    public const string DeadLetterOriginTopic = "DLQ_ORIGIN_TOPIC";

    /// <summary>The retry topic of a consumer group (<c>%RETRY%group</c>, one queue).</summary>
    public static string RetryTopicOf(string group) => "%RETRY%" + group;

    /// <summary>The dead-letter topic of a consumer group (<c>%DLQ%group</c>, one queue).</summary>
    public static string DeadLetterTopicOf(string group) => "%DLQ%" + group;
}
