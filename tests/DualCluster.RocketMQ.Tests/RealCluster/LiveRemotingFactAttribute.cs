namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>A fact that runs only when <c>DUALCLUSTER_IT_REMOTING_NAMESERVERS</c> names a live 4.x cluster; skipped, with the reason, otherwise.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LiveRemotingFactAttribute : FactAttribute
{
    public LiveRemotingFactAttribute()
    {
        Skip = LiveClusterSettings.Environment.RemotingSkipReason!;
    }
}
