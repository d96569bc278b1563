namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>A fact that runs only when <c>DUALCLUSTER_IT_GRPC_ENDPOINT</c> names a live 5.x cluster; skipped, with the reason, otherwise.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LiveGrpcFactAttribute : FactAttribute
{
    public LiveGrpcFactAttribute()
    {
        Skip = LiveClusterSettings.Environment.GrpcSkipReason!;
    }
}
