namespace DualCluster.Testing;

/// <summary>The status codes an <see cref="InMemoryBrokerException"/> carries.</summary>
public static class BrokerStatusCodes
{
    /// <summary>The cluster is paused (<see cref="BrokerFaults.Pause"/>); transient.</summary>
    public const string Unavailable = "SERVICE_UNAVAILABLE";

    /// <summary>A failure injected with <see cref="BrokerFaults.FailNextSends"/>.</summary>
    public const string InjectedFailure = "INJECTED_FAILURE";

    /// <summary>The send was stored but its response was "lost" (<see cref="BrokerFaults.FailNextSendsAfterStoring"/>); transient.</summary>
    public const string Timeout = "TIMEOUT";

    /// <summary>The topic does not exist and auto-creation is off; not transient.</summary>
    public const string TopicNotFound = "TOPIC_NOT_FOUND";

    /// <summary>The queue id is outside the topic's queues; not transient.</summary>
    public const string QueueNotFound = "QUEUE_NOT_FOUND";
}
