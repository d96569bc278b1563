using DualCluster.Conformance.Transport;
using DualCluster.RocketMQ.Testing.Grpc;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>The shared transport conformance suite, over HTTP/2 against the loopback 5.x broker.</summary>
public sealed class GrpcTransportConformanceTests : TransportConformanceTests
{
    /// <summary>The 5.x protocol has no backlog query: the probe reports unknown.</summary>
    protected override bool BacklogIsExact => false;

    protected override async Task<ConformanceCluster> CreateClusterAsync(ClusterRole role)
    {
        var broker = await GrpcWire.StartBrokerAsync();
        var transport = GrpcWire.Transport(broker, role);
        return new ConformanceCluster(transport, broker, broker.DisposeAsync);
    }

    /// <summary>Topics exist before use: a 5.x proxy creates none (the loopback's <c>AutoCreateTopics</c> is off).</summary>
    protected override Task PrepareTopicAsync(ConformanceCluster cluster, string topic)
    {
        ((GrpcLoopbackBroker)cluster.Extra!).Broker.CreateTopic(topic, 4);
        return Task.CompletedTask;
    }

    protected override Task<int?> CountDeadLettersAsync(ConformanceCluster cluster, string group, string topic) =>
        Task.FromResult<int?>(((GrpcLoopbackBroker)cluster.Extra!).Broker.GetDeadLetters(group).Count);
}
