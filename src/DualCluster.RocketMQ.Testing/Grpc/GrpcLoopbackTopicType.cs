namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// The message types a topic of a <see cref="GrpcLoopbackBroker"/> accepts (RocketMQ 5.x topic attribute
/// <c>message.type</c>; a topic without it is <see cref="Normal"/>, see <see cref="GrpcLoopbackOptions.DefaultTopicType"/>).
/// </summary>
public enum GrpcLoopbackTopicType
{
    /// <summary>Every type: routes list NORMAL, FIFO, DELAY and TRANSACTION.</summary>
    Mixed = 0,

    /// <summary>Normal messages only.</summary>
    Normal = 1,

    /// <summary>FIFO messages (with a message group) only.</summary>
    Fifo = 2,

    /// <summary>Delay messages (with a delivery time) only.</summary>
    Delay = 3,

    /// <summary>Transaction messages only.</summary>
    Transaction = 4,
}
