using DualCluster.Conformance.Transport;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>Skips the inherited conformance tests of a class unless <c>DUALCLUSTER_IT_REMOTING_NAMESERVERS</c> is set.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = true)]
public sealed class LiveRemotingClusterAttribute : ConformanceSkipAttribute
{
    public override string? Reason => LiveClusterSettings.Environment.RemotingSkipReason;
}
