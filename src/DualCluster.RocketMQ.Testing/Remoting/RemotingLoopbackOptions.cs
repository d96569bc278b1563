namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>Settings of a <see cref="RemotingLoopbackCluster"/>.</summary>
public sealed class RemotingLoopbackOptions
{
    /// <summary>The broker name routes report (default <c>broker-a</c>).</summary>
    public string BrokerName { get; set; } = "broker-a";

    /// <summary>The cluster name routes report (default <c>DefaultCluster</c>).</summary>
    public string ClusterName { get; set; } = "DefaultCluster";

    /// <summary>
    /// When set (with <see cref="SecretKey"/>), every request to the broker must carry a valid ACL signature for
    /// this access key; others get SYSTEM_ERROR "org.apache.rocketmq.acl.common.AclException: …", as from Apache 4.9.8.
    /// The name server answers anyone, as a 4.9.8 name server (it has no ACL).
    /// </summary>
    public string? AccessKey { get; set; }

    /// <summary>The secret key that verifies signatures.</summary>
    public string? SecretKey { get; set; }

    /// <summary>
    /// The account's permission on every topic, as <c>defaultTopicPerm</c> of Apache's plain_acl.yml: <c>"PUB|SUB"</c>
    /// (default), <c>"PUB"</c>, <c>"SUB"</c> or <c>"DENY"</c>. A signed request that needs what is missing (send: PUB;
    /// pull, offset commit, a heartbeat's subscriptions: SUB) gets SYSTEM_ERROR
    /// "AclException: No default permission for topic:T", as from 4.9.8. Only with <see cref="AccessKey"/>.
    /// </summary>
    public string DefaultTopicPerm { get; set; } = "PUB|SUB";

    /// <summary>
    /// Whether the name server answers routes for unknown topics (the broker then auto-creates them on
    /// send, as Apache with <c>autoCreateTopicEnable</c>). When false, unknown topics get TOPIC_NOT_EXIST (17).
    /// </summary>
    public bool AutoCreateTopics { get; set; } = true;

    /// <summary>
    /// Durations of delay levels 1–18 (send-back retries, DELAY property). Null: the Apache defaults
    /// (1s 5s 10s 30s 1m …). Tests shorten them so retries arrive quickly.
    /// </summary>
    public IReadOnlyList<TimeSpan>? DelayLevels { get; set; }

    /// <summary>Longest time the broker holds a PULL, whatever the client asks (keeps test shutdowns quick).</summary>
    public TimeSpan MaxPullSuspend { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Whether the name server answers a route for any <c>%RETRY%group</c> or <c>%DLQ%group</c> topic, creating it on
    /// the spot (default false). A genuine name server answers TOPIC_NOT_EXIST (17) until a broker created the retry
    /// topic — on the group's first HEART_BEAT with consumer data, or its first CONSUMER_SEND_MSG_BACK — and the
    /// dead-letter topic when a message is first dead-lettered. Turn this on only to test a client that cannot cope.
    /// </summary>
    public bool InventRetryRoutes { get; set; }

    /// <summary>
    /// How many of each queue's newest messages count as still in memory (the page cache) when the broker answers
    /// QUERY_CONSUMER_OFFSET for a group that never committed; older ones count as on disk. Null (default): every
    /// message is in memory, like a young broker. Apache answers offset 0 instead of QUERY_NOT_FOUND when the queue's
    /// min offset is 0 and its first message is not on disk (ConsumerManageProcessor.queryConsumerOffset with
    /// DefaultMessageStore.checkInDiskByConsumeOffset: on disk = more than <c>accessMessageInMemoryMaxRatio</c> (40 %)
    /// of physical memory of commit log written since). The loopback counts messages per queue instead of bytes.
    /// </summary>
    public long? MessagesInMemoryPerQueue { get; set; }
}
