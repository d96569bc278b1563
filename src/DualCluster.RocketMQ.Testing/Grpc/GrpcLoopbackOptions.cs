namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// Settings of a <see cref="GrpcLoopbackBroker"/>. The defaults are those of an Apache RocketMQ 5.x proxy
/// (fact sheet §5.7, §6.2); tests shorten the time bounds when they need quick redeliveries or polls.
/// Read when the broker starts; do not change them afterwards.
/// </summary>
public sealed class GrpcLoopbackOptions
{
    /// <summary>The broker name routes report (default <c>broker-a</c>).</summary>
    public string BrokerName { get; set; } = "broker-a";

    /// <summary>
    /// Serve TLS (HTTP/2 over TLS with a self-signed certificate for <c>127.0.0.1</c>/<c>localhost</c>, see
    /// <see cref="GrpcLoopbackBroker.Certificate"/>) instead of h2c. Default false. Clients must then skip
    /// certificate validation (or trust that certificate).
    /// </summary>
    public bool Tls { get; set; }

    /// <summary>
    /// When set (with <see cref="SecretKey"/>), every RPC must carry a valid <c>MQv2-HMAC-SHA1</c> authorization for
    /// this access key (fact sheet §3.1); others get UNAUTHORIZED (40100) in-band, as the proxy with authentication on.
    /// </summary>
    public string? AccessKey { get; set; }

    /// <summary>The secret key that verifies signatures.</summary>
    public string? SecretKey { get; set; }

    /// <summary>
    /// Refuse credentials as the Apache 5.0.0 proxy with <c>enableACL</c> does, instead of in-band UNAUTHORIZED:
    /// a wrong access key or signature ends the call with gRPC PERMISSION_DENIED, no description, and the request's
    /// own headers (<c>authorization</c> included) echoed as trailers; a call without <c>authorization</c> or
    /// <c>x-mq-date-time</c> ends with gRPC INTERNAL and no description (the proxy's NullPointerException on JDK 8).
    /// Default false.
    /// </summary>
    public bool AclAsProxy500 { get; set; }

    /// <summary>
    /// When set, every RPC must carry this value in <c>x-mq-namespace</c> (others get FORBIDDEN, 40300, as a
    /// multi-tenant service would answer a client of another instance) and responses echo it in every
    /// <c>Resource.resource_namespace</c>. Null (default): any namespace is accepted and echoed, as the open-source proxy does.
    /// </summary>
    public string? Namespace { get; set; }

    /// <summary>
    /// Headers besides <c>x-mq-client-id</c> (always required) that every RPC must carry; a call without one gets
    /// BAD_REQUEST (40000). Empty by default: the Apache proxy checks no other header on every call
    /// (fact sheet §3: <c>x-mq-language</c> is checked on Heartbeat and Telemetry only, the request id not at all).
    /// Add e.g. <c>x-mq-request-id</c> to make a test assert that a client sends it.
    /// </summary>
    public IList<string> RequiredHeaders { get; } = [];

    /// <summary>
    /// Whether an unknown topic is created (with <see cref="DefaultQueueCount"/> queues) when a client first names it in
    /// QueryRoute, SendMessage or ReceiveMessage. Default false, as an Apache 5.x proxy: a topic must exist on the broker
    /// (create it with <c>Broker.CreateTopic</c>), and an unknown one gets TOPIC_NOT_FOUND (40402) — proxy
    /// <c>TopicRouteService.getAllMessageQueueView</c> raises the broker's TOPIC_NOT_EXIST, which
    /// <c>ResponseBuilder</c> maps to TOPIC_NOT_FOUND. Turn it on only for tests that do not care about topic lifecycle.
    /// </summary>
    public bool AutoCreateTopics { get; set; }

    /// <summary>
    /// Whether <c>GetOffset</c> (a group's committed offset of one queue) is answered. Default false: the Apache proxy,
    /// 5.0.0 up to the current 5.3.x, does not implement it (<c>GrpcMessagingApplication</c> does not override
    /// <c>getOffset</c>), so the call ends with gRPC UNIMPLEMENTED. Turn it on to stand for a server that answers it.
    /// A group without an offset on the queue gets OFFSET_NOT_FOUND (40404).
    /// </summary>
    public bool ServeGetOffset { get; set; }

    /// <summary>
    /// Whether <c>QueryOffset</c> (a queue's first offset, next offset, or first offset stored at or after a time) is
    /// answered. Default false, as <see cref="ServeGetOffset"/>: gRPC UNIMPLEMENTED on every Apache 5.x proxy.
    /// </summary>
    public bool ServeQueryOffset { get; set; }

    /// <summary>Queues of a topic created because of <see cref="AutoCreateTopics"/> (default 4).</summary>
    public int DefaultQueueCount { get; set; } = 4;

    /// <summary>
    /// The message type of a topic that <see cref="TopicTypes"/> and <see cref="GrpcLoopbackBroker.CreateTopic"/> say
    /// nothing about (default <see cref="GrpcLoopbackTopicType.Normal"/>, as Apache's <c>TopicConfig.getTopicMessageType</c>
    /// when the topic has no <c>message.type</c> attribute). Routes advertise only that type in <c>accept_message_types</c>
    /// (proxy <c>RouteActivity.parseTopicMessageType</c>) and a send of another type is refused with
    /// MESSAGE_PROPERTY_CONFLICT_WITH_TYPE (40014) (proxy <c>DefaultTopicMessageTypeValidator</c>, on by default through
    /// <c>enableTopicMessageTypeCheck</c>). <see cref="GrpcLoopbackTopicType.Mixed"/> is the lenient choice.
    /// </summary>
    public GrpcLoopbackTopicType DefaultTopicType { get; set; } = GrpcLoopbackTopicType.Normal;

    /// <summary>
    /// Per-topic message types known at start (routes report them in <c>accept_message_types</c>; sends of another type are
    /// refused). To type a topic while the broker runs use <see cref="GrpcLoopbackBroker.CreateTopic"/>.
    /// </summary>
    public IDictionary<string, GrpcLoopbackTopicType> TopicTypes { get; } = new Dictionary<string, GrpcLoopbackTopicType>(StringComparer.Ordinal);

    /// <summary>Consumer groups that consume orderly (settings answer <c>fifo = true</c>; assignments list every queue).</summary>
    public ISet<string> FifoGroups { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Largest body a send may carry, also told to producers in their settings (default 4 MiB).</summary>
    public int MaxBodySize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Shortest long poll of a ReceiveMessage (default 5 s; shorter requests are raised to it).</summary>
    public TimeSpan MinLongPollingTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest long poll of a ReceiveMessage (default 20 s; longer requests are cut to it).</summary>
    public TimeSpan MaxLongPollingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The long-polling timeout every consumer is told in its settings (default 20 s). Like the proxy
    /// (<c>GrpcClientSettingsManager.mergeSubscriptionData</c>: <c>grpcClientConsumerMaxLongPollingTimeoutMillis</c>), the
    /// answer overwrites whatever the client sent, a simple consumer's await duration included.
    /// </summary>
    public TimeSpan PushLongPollingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Shortest invisible duration a ReceiveMessage without auto-renew may ask for (default 10 s).</summary>
    public TimeSpan MinInvisibleDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Invisible duration of a delivery received with <c>auto_renew</c> (default 60 s, the proxy's; renewed shortly before it ends until the delivery is settled or its client terminates).</summary>
    public TimeSpan AutoRenewInvisibleDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The receive batch size push consumers are told (default 32, also the largest batch a receive may ask for).</summary>
    public int ReceiveBatchSize { get; set; } = 32;

    /// <summary>The producer's send attempts told in its settings (default 3).</summary>
    public int ProducerMaxAttempts { get; set; } = 3;

    /// <summary>
    /// Every consumer group's <c>retryMaxTimes</c> (default 16, Apache's <c>SubscriptionGroupConfig</c> default). Consumers
    /// are told <c>max_attempts</c> = this + 1 (17 by default, proxy <c>GrpcClientSettingsManager.mergeSubscriptionData</c>),
    /// and a message is delivered at most that many times before it goes to <c>%DLQ%group</c> (proxy
    /// <c>PopMessageResultFilterImpl</c>: reconsume times ≥ max attempts → dead letter). When a group first connects the
    /// loopback sets the in-memory broker's max delivery attempts of that group to the same number.
    /// </summary>
    public int ConsumerRetryMaxTimes { get; set; } = 16;

    /// <summary>
    /// Redelivery delays consumers are told (customized back-off, delay n for attempt n, the last repeated).
    /// Null (default): the proxy's 1s 5s 10s 30s 1m 2m … 2h.
    /// </summary>
    public IReadOnlyList<TimeSpan>? ConsumerRetryDelays { get; set; }

    /// <summary>The longest a delay message may be scheduled ahead (default 24 h; later ones get ILLEGAL_DELIVERY_TIME).</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long <see cref="GrpcLoopbackBroker.StopBrokerAsync"/> waits for calls to end before cutting them (default 2 s).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(2);

    internal bool HasCredentials => !string.IsNullOrEmpty(AccessKey) && !string.IsNullOrEmpty(SecretKey);

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(BrokerName, nameof(BrokerName));
        ArgumentOutOfRangeException.ThrowIfLessThan(DefaultQueueCount, 1, nameof(DefaultQueueCount));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBodySize, 1, nameof(MaxBodySize));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReceiveBatchSize, 1, nameof(ReceiveBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(ProducerMaxAttempts, 1, nameof(ProducerMaxAttempts));
        ArgumentOutOfRangeException.ThrowIfNegative(ConsumerRetryMaxTimes, nameof(ConsumerRetryMaxTimes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinLongPollingTimeout, TimeSpan.Zero, nameof(MinLongPollingTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLongPollingTimeout, MinLongPollingTimeout, nameof(MaxLongPollingTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MinInvisibleDuration, TimeSpan.Zero, nameof(MinInvisibleDuration));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AutoRenewInvisibleDuration, TimeSpan.Zero, nameof(AutoRenewInvisibleDuration));
        if (string.IsNullOrEmpty(AccessKey) != string.IsNullOrEmpty(SecretKey))
        {
            throw new ArgumentException("Set both AccessKey and SecretKey of the loopback broker, or neither.", nameof(AccessKey));
        }
    }
}
