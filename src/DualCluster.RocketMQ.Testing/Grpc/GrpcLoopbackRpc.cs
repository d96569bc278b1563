namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>The <c>MessagingService</c> RPCs a <see cref="GrpcLoopbackBroker"/> serves, for fault injection and call counts.</summary>
public enum GrpcLoopbackRpc
{
    /// <summary><c>QueryRoute</c>.</summary>
    QueryRoute,

    /// <summary><c>Heartbeat</c>.</summary>
    Heartbeat,

    /// <summary><c>SendMessage</c>.</summary>
    SendMessage,

    /// <summary><c>QueryAssignment</c>.</summary>
    QueryAssignment,

    /// <summary><c>ReceiveMessage</c> (server streaming).</summary>
    ReceiveMessage,

    /// <summary><c>AckMessage</c>.</summary>
    AckMessage,

    /// <summary><c>ForwardMessageToDeadLetterQueue</c>.</summary>
    ForwardMessageToDeadLetterQueue,

    /// <summary><c>EndTransaction</c>.</summary>
    EndTransaction,

    /// <summary><c>Telemetry</c> (bidirectional streaming).</summary>
    Telemetry,

    /// <summary><c>NotifyClientTermination</c>.</summary>
    NotifyClientTermination,

    /// <summary><c>ChangeInvisibleDuration</c>.</summary>
    ChangeInvisibleDuration,

    /// <summary><c>GetOffset</c> (answered only with <see cref="GrpcLoopbackOptions.ServeGetOffset"/>).</summary>
    GetOffset,

    /// <summary><c>QueryOffset</c> (answered only with <see cref="GrpcLoopbackOptions.ServeQueryOffset"/>).</summary>
    QueryOffset,
}
