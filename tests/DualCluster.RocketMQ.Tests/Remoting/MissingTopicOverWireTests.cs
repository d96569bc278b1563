using DualCluster.RocketMQ.Testing.Remoting;
using DualCluster.Transport;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>A topic the 4.x name server does not know is reported as such, so the drain check can say so (issue 11, fact 9).</summary>
public sealed class MissingTopicOverWireTests
{
    [Fact]
    public async Task The_backlog_of_a_topic_the_name_server_does_not_know_fails_naming_the_missing_topic()
    {
        await using var cluster = await WireTestContext.StartLoopbackAsync(new RemotingLoopbackOptions { AutoCreateTopics = false });
        await using var transport = WireTestContext.NewTransport(cluster.NameServerAddress);
        var topic = WireTestContext.Unique("NeverCreated");

        var error = await Assert.ThrowsAsync<ClusterTransportException>(
            async () => await transport.BacklogProbe.GetBacklogAsync(WireTestContext.Unique("G"), topic));

        Assert.Equal(topic, error.MissingTopic);
        Assert.Equal("17", error.StatusCode);
    }
}
