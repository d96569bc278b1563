using DualCluster.Consuming;
using DualCluster.Testing;
using DualCluster.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DualCluster.Tests.EndToEnd;

/// <summary>A topic that exists on New but not on Old (issue 11, fact 9): the node says why it stays and what to do.</summary>
public sealed class MissingTopicTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static IHost Node(InMemoryBroker old, InMemoryBroker @new, bool assumeDrained, out Func<Task<ConsumerStatus>> waitForReconcile)
    {
        var settings = FakeCluster.Settings("missing-topic-node", 100, 100, false,
            ("DualCluster:Consumer:DrainCheckInterval", "00:00:00.050"),
            ("DualCluster:Consumer:AssumeOldDrainedWhenUnknown", assumeDrained ? "true" : "false"));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseInMemoryBrokers(old, @new)
            .AddConsumer("orders-group", "orders", (_, _) => Task.CompletedTask);
        var host = builder.Build();
        waitForReconcile = async () =>
        {
            var slot = host.Services.GetRequiredService<ConsumerSlot>();
            var seen = new TaskCompletionSource<ConsumerStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
            var consumer = slot.Get(host.Services);
            consumer.Reconciled += s => seen.TrySetResult(s);
            return await seen.Task.WaitAsync(Wait);
        };
        return host;
    }

    [Fact]
    public async Task A_node_stuck_on_Old_because_the_topic_does_not_exist_there_says_so_and_what_to_do()
    {
        var old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old", AutoCreateTopics = false });
        var @new = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new", AutoCreateTopics = false });
        @new.CreateTopic("orders", 2);
        using var host = Node(old, @new, assumeDrained: false, out var next);
        await host.StartAsync();

        var status = host.Services.GetRequiredService<IDualClusterStatus>().GetStatus().Consumers.Single();
        if (status.LastError is null)
        {
            status = await next();
        }

        Assert.Equal(ConsumerPhase.Draining, status.Phase);
        Assert.Contains("topic 'orders' does not exist", status.LastError, StringComparison.Ordinal);
        Assert.Contains("create it there", status.LastError, StringComparison.Ordinal);
        await host.StopAsync();
    }

    [Fact]
    public async Task With_the_operator_override_a_topic_missing_on_Old_lets_the_node_leave_it()
    {
        var old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old", AutoCreateTopics = false });
        var @new = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new", AutoCreateTopics = false });
        @new.CreateTopic("orders", 2);
        using var host = Node(old, @new, assumeDrained: true, out _);
        await host.StartAsync();

        var status = host.Services.GetRequiredService<IDualClusterStatus>().GetStatus().Consumers.Single();

        Assert.Equal(ConsumerPhase.New, status.Phase);
        await host.StopAsync();
    }
}
