using DualCluster.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DualCluster.Tests.Configuration;

public sealed class OptionsValidationTests
{
    private static async Task<OptionsValidationException> StartFailsWith(params (string, string?)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(FakeCluster.Settings("n1", 0, 0, false, settings));
        var journal = new List<string>();
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseTransport(ClusterRole.Old, _ => new FakeTransport(ClusterRole.Old, journal))
            .UseTransport(ClusterRole.New, _ => new FakeTransport(ClusterRole.New, journal))
            .AddProducer();
        using var host = builder.Build();
        return await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }

    [Fact]
    public async Task A_weight_outside_0_to_100_stops_the_start_naming_the_key()
    {
        var ex = await StartFailsWith(("DualCluster:Producer:NewWeight", "130"));
        Assert.Contains(ex.Failures, f => f.Contains("DualCluster:Producer:NewWeight is 130", StringComparison.Ordinal) && f.Contains("0–100", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_override_value_stops_the_start_naming_the_node()
    {
        var ex = await StartFailsWith(("DualCluster:Overrides:pod-3:Consumer", "Neww"));
        Assert.Contains(ex.Failures, f => f.Contains("DualCluster:Overrides:pod-3:Consumer is 'Neww'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_negative_drain_grace_period_stops_the_start_naming_the_key()
    {
        var ex = await StartFailsWith(("DualCluster:Consumer:DrainGracePeriod", "-00:00:05"));
        Assert.Contains(ex.Failures, f => f.Contains("DualCluster:Consumer:DrainGracePeriod is -00:00:05", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unsafe_start_configuration_is_refused()
    {
        var ex = await StartFailsWith(("DualCluster:Producer:NewWeight", "20"));
        Assert.Contains(ex.Failures, f => f.Contains("no consumer reads New", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_protocol_for_a_used_cluster_names_the_key()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(FakeCluster.Settings("n1", 0, 0));
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster")).AddProducer();
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(ex.Failures, f => f.Contains("DualCluster:Clusters:Old:Protocol is missing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unregistered_protocol_says_which_are_registered()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(FakeCluster.Settings("n1", 0, 0, false, ("DualCluster:Clusters:Old:Protocol", "Grcp")));
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(ex.Failures, f => f.Contains("DualCluster:Clusters:Old:Protocol is 'Grcp'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retention_shorter_than_the_lease_is_refused()
    {
        var ex = await StartFailsWith(("DualCluster:Idempotency:Retention", "00:01:00"), ("DualCluster:Idempotency:Lease", "00:05:00"));
        Assert.Contains(ex.Failures, f => f.Contains("Idempotency:Retention", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_guard_can_be_switched_off_for_rehearsals()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(FakeCluster.Settings("n1", 20, 0, false, ("DualCluster:SafeOrderGuard", "false")));
        var journal = new List<string>();
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseTransport(ClusterRole.Old, _ => new FakeTransport(ClusterRole.Old, journal))
            .UseTransport(ClusterRole.New, _ => new FakeTransport(ClusterRole.New, journal))
            .AddProducer();
        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();
    }
}
