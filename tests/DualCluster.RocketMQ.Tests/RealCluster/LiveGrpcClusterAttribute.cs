using DualCluster.Conformance.Transport;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>Skips the inherited conformance tests of a class unless <c>DUALCLUSTER_IT_GRPC_ENDPOINT</c> is set.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = true)]
public sealed class LiveGrpcClusterAttribute : ConformanceSkipAttribute
{
    public override string? Reason => LiveClusterSettings.Environment.GrpcSkipReason;
}
