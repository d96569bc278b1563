namespace DualCluster.RocketMQ.Remoting;

/// <summary>Well-known property names and reserved names of the 4.x protocol (fact sheet §3.5, §4.3).</summary>
internal static class MessageConst
{
    public const string UniqKey = "UNIQ_KEY";
    public const string Keys = "KEYS";
    public const string Tags = "TAGS";
    public const string Wait = "WAIT";
    public const string Delay = "DELAY";
    public const string StartDeliverTime = "__STARTDELIVERTIME";
    public const string RetryTopic = "RETRY_TOPIC";
    public const string RealTopic = "REAL_TOPIC";
    public const string RealQueueId = "REAL_QID";
    public const string OriginMessageId = "ORIGIN_MESSAGE_ID";
    public const string ReconsumeTime = "RECONSUME_TIME";
    public const string MaxReconsumeTimes = "MAX_RECONSUME_TIMES";
    public const string MinOffset = "MIN_OFFSET";
    public const string MaxOffset = "MAX_OFFSET";
    public const string Cluster = "CLUSTER";
    public const string InstanceId = "INSTANCE_ID";

    /// <summary>The FIFO shard key a 5.x server maps to a message group; carried so the group survives a round trip.</summary>
    public const string ShardingKey = "__SHARDINGKEY";

    public const string RetryPrefix = "%RETRY%";
    public const string DlqPrefix = "%DLQ%";
    public const string AutoCreateTopic = "TBW102";
    public const string ScheduleTopic = "SCHEDULE_TOPIC_XXXX";
    public const string ClientInnerProducer = "CLIENT_INNER_PRODUCER";
    public const string DefaultCluster = "DefaultCluster";

    /// <summary>Delay level durations 1–18 (§3.5.1).</summary>
    public static readonly TimeSpan[] DelayLevels =
    [
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30),
        TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(4),
        TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(6), TimeSpan.FromMinutes(7), TimeSpan.FromMinutes(8),
        TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(1), TimeSpan.FromHours(2),
    ];

    /// <summary>The smallest delay level whose duration covers <paramref name="delay"/> (1 for anything up to 1 s, 18 at most).</summary>
    public static int DelayLevelFor(TimeSpan delay)
    {
        for (var i = 0; i < DelayLevels.Length; i++)
        {
            if (delay <= DelayLevels[i])
            {
                return i + 1;
            }
        }

        return DelayLevels.Length;
    }

    public static string RetryTopicOf(string wrappedGroup) => RetryPrefix + wrappedGroup;

    public static string DlqTopicOf(string wrappedGroup) => DlqPrefix + wrappedGroup;
}
