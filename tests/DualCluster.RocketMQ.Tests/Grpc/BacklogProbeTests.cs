using DualCluster.RocketMQ.Testing.Grpc;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>The gRPC backlog probe: per-queue lag where the server answers GetOffset/QueryOffset, unknown where it does not.</summary>
public sealed class BacklogProbeTests
{
    private static readonly byte[] Body = "x"u8.ToArray();

    [Fact]
    public async Task Backlog_is_unknown_when_the_server_does_not_implement_GetOffset_as_no_Apache_proxy_does()
    {
        await using var broker = await GrpcWire.StartBrokerAsync();
        await using var transport = GrpcWire.Transport(broker);
        var (topic, group) = (GrpcWire.Topic(broker, "lag", queues: 2), GrpcWire.Unique("g"));
        broker.Broker.Subscribe(group, topic);
        broker.Broker.Send(new OutgoingMessage(topic, Body));

        var report = await transport.BacklogProbe.GetBacklogAsync(group, topic);
        var again = await transport.BacklogProbe.GetBacklogAsync(group, topic);

        Assert.Null(report.Ready);
        Assert.Null(report.Queues);
        Assert.False(report.IsDrained);
        Assert.Contains("GetOffset", report.Remark, StringComparison.Ordinal);
        Assert.Null(again.Ready);
        Assert.Equal(1, broker.GetCallCount(GrpcLoopbackRpc.GetOffset)); // UNIMPLEMENTED is remembered, not asked again
        Assert.Equal(0, broker.GetCallCount(GrpcLoopbackRpc.QueryOffset));
    }

    [Fact]
    public async Task Backlog_is_each_queues_max_offset_minus_committed_offset_when_the_server_answers_both()
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o =>
        {
            o.ServeGetOffset = true;
            o.ServeQueryOffset = true;
        });
        await using var transport = GrpcWire.Transport(broker);
        var (topic, group) = (GrpcWire.Topic(broker, "lag", queues: 2), GrpcWire.Unique("g"));
        broker.Broker.Subscribe(group, topic);
        broker.Broker.Send(new OutgoingMessage(topic, Body), queueId: 0);
        broker.Broker.Send(new OutgoingMessage(topic, Body), queueId: 0);
        broker.Broker.Send(new OutgoingMessage(topic, Body), queueId: 1);
        Assert.Single(broker.Broker.Receive(group, topic, 1, TimeSpan.FromSeconds(30)));

        var report = await transport.BacklogProbe.GetBacklogAsync(group, topic);

        Assert.Equal(2, report.Ready);
        Assert.Equal(2, report.QueueLag);
        Assert.Equal([0, 1], report.Queues!.Select(q => q.QueueId));
        Assert.Equal([2L, 1L], report.Queues!.Select(q => q.BrokerOffset));
        Assert.All(report.Queues!, q => Assert.Equal("broker-a", q.Broker));
        Assert.Null(report.InFlight);
        Assert.False(report.IsDrained);
    }

    [Fact]
    public async Task Backlog_of_a_group_without_committed_offsets_is_unknown()
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o =>
        {
            o.ServeGetOffset = true;
            o.ServeQueryOffset = true;
        });
        await using var transport = GrpcWire.Transport(broker);
        var (topic, group) = (GrpcWire.Topic(broker, "lag", queues: 2), GrpcWire.Unique("g"));
        broker.Broker.Send(new OutgoingMessage(topic, Body));

        var report = await transport.BacklogProbe.GetBacklogAsync(group, topic);

        Assert.Null(report.Ready);
        Assert.False(report.IsDrained);
        Assert.Contains("no committed offset", report.Remark, StringComparison.Ordinal);
    }
}
