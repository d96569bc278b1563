using DualCluster.Testing;
using DualCluster.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DualCluster.Tests.EndToEnd;

/// <summary>Issue 18, finding 8: what the README promises about start order in a worker.</summary>
public sealed class StartOrderTests
{
    [Fact]
    public async Task A_hosted_service_registered_after_the_consumers_starts_when_they_already_read()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(FakeCluster.Settings("n1", 0, 0, doubleRead: true));
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseInMemoryBrokers(new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" }), new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" }))
            .AddProducer()
            .AddConsumer("start-order-a", "start-order-a", (_, _) => Task.CompletedTask)
            .AddConsumer("start-order-b", "start-order-b", (_, _) => Task.CompletedTask);
        var seen = new Probe();
        builder.Services.AddSingleton(seen);
        builder.Services.AddHostedService<ReadingProbe>();
        using var host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();

        Assert.Equal([ClusterSet.Both, ClusterSet.Both], seen.Reading);
    }

    private sealed class Probe
    {
        public List<ClusterSet> Reading { get; } = [];
    }

    private sealed class ReadingProbe(IDualClusterStatus status, Probe probe) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            probe.Reading.AddRange(status.GetStatus().Consumers.Select(c => c.Reading));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
