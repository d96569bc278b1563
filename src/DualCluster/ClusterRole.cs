namespace DualCluster;

/// <summary>Which of the two clusters of a migration a message, a connection or a setting belongs to.</summary>
public enum ClusterRole
{
    /// <summary>The cluster being migrated away from (typically self-built RocketMQ 4.x).</summary>
    Old = 0,

    /// <summary>The cluster being migrated to (typically a managed service such as TDMQ for RocketMQ 5.x).</summary>
    New = 1,
}
