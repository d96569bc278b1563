using DualCluster.Routing;
using DualCluster.Testing;
using DualCluster.Tests.Fakes;
using DualCluster.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DualCluster.Tests.Configuration;

/// <summary>
/// Issue 18, findings 4, 5 and 6: what used to pass silently. A missing section and unknown keys are warned about
/// (event 1008) at start and on reload; values the binder cannot convert stop the start with an
/// <see cref="OptionsValidationException"/> naming the key and the fix; cluster sections a transport supplied in code
/// makes unused are checked like production when their transport is registered, and warned about when not.
/// </summary>
public sealed class ConfigurationWarningsTests
{
    private sealed class Node : IAsyncDisposable
    {
        public Node(Dictionary<string, string?> settings, Action<DualClusterBuilder>? configure = null)
        {
            Configuration = new ReloadableConfiguration(settings);
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddConfiguration(Configuration.Root);
            builder.Logging.AddProvider(Logs);
            var dual = builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
                .UseInMemoryBrokers(new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" }), new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" }))
                .AddProducer();
            configure?.Invoke(dual);
            Host = builder.Build();
        }

        public CapturingLoggerProvider Logs { get; } = new();

        public ReloadableConfiguration Configuration { get; }

        public IHost Host { get; }

        public IEnumerable<string> Warnings => Logs.Entries.Where(e => e.EventId == 1008).Select(e => e.Message);

        public async ValueTask DisposeAsync()
        {
            await Host.StopAsync();
            Host.Dispose();
        }
    }

    [Fact]
    public async Task A_missing_DualCluster_section_is_warned_about_at_start()
    {
        await using var node = new Node([]);

        await node.Host.StartAsync();

        var warning = Assert.Single(node.Warnings);
        Assert.Contains("'DualCluster' is missing or empty", warning, StringComparison.Ordinal);
        Assert.Contains("everything", warning.Replace("producers and consumers on Old", "everything", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelled_key_is_warned_about_at_start_with_the_key_it_probably_meant()
    {
        await using var node = new Node(FakeCluster.Settings("n1", 0, 0, false, ("DualCluster:Producer:NewWieght", "30")));

        await node.Host.StartAsync();

        var warning = Assert.Single(node.Warnings);
        Assert.Contains("DualCluster:Producer:NewWieght is not a DualCluster setting and is ignored", warning, StringComparison.Ordinal);
        Assert.Contains("did you mean 'DualCluster:Producer:NewWeight'", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_key_added_by_a_reload_is_warned_about()
    {
        await using var node = new Node(FakeCluster.Settings("n1", 0, 0));
        await node.Host.StartAsync();
        Assert.Empty(node.Warnings);

        node.Configuration.Set(("DualCluster:Consumer:DubleRead", "true"), ("DualCluster:Overrides:n7:Produser", "New"));
        Assert.True(node.Host.Services.GetRequiredService<RoutingState>().Reload());

        Assert.Contains(node.Warnings, w => w.Contains("DualCluster:Consumer:DubleRead is not a DualCluster setting", StringComparison.Ordinal) && w.Contains("'DualCluster:Consumer:DoubleRead'", StringComparison.Ordinal));
        Assert.Contains(node.Warnings, w => w.Contains("DualCluster:Overrides:n7:Produser is not a DualCluster setting", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Free_form_keys_under_overrides_and_transport_settings_are_not_warned_about()
    {
        await using var node = new Node(FakeCluster.Settings("n1", 0, 0, false,
            ("DualCluster:Overrides:order-svc-3:Producer", "Old"),
            ("DualCluster:Clusters:Old:Settings:HeartbeatInterval", "00:00:10"),
            ("DualCluster:Idempotency:Lease", "00:05:00")));

        await node.Host.StartAsync();

        Assert.Empty(node.Warnings);
    }

    [Theory]
    [InlineData("DualCluster:Producer:NewWeight", "abc", "use a whole number")]
    [InlineData("DualCluster:Consumer:DoubleRead", "yes", "use true or false")]
    [InlineData("DualCluster:Idempotency:Lease", "5 minutes", "00:00:05")]
    public async Task A_value_the_binder_cannot_convert_stops_the_start_naming_the_key_and_the_fix(string key, string value, string fix)
    {
        await using var node = new Node(FakeCluster.Settings("n1", 0, 0, false, (key, value)));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => node.Host.StartAsync());

        var failure = Assert.Single(ex.Failures);
        Assert.Contains($"{key} cannot be read", failure, StringComparison.Ordinal);
        Assert.Contains(fix, failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_the_binder_cannot_convert_on_reload_is_rejected_naming_the_key()
    {
        await using var node = new Node(FakeCluster.Settings("n1", 0, 0));
        await node.Host.StartAsync();
        var routing = node.Host.Services.GetRequiredService<RoutingState>();

        // This fake raises the change token synchronously, and the options monitor (created by ValidateOnStart) rebinds
        // inside that callback: the error surfaces here as well. A file reload raises it on the watcher's thread.
        var raised = Record.Exception(() => node.Configuration.Set(("DualCluster:Consumer:NewWeight", "lots")));
        Assert.True(raised is null or AggregateException);

        Assert.False(routing.Reload());
        Assert.Contains(routing.LastRejection!.Errors, e => e.Contains("DualCluster:Consumer:NewWeight cannot be read: use a whole number", StringComparison.Ordinal));
    }

    [Fact]
    public async Task In_memory_brokers_warn_that_a_cluster_section_with_an_unregistered_protocol_is_not_checked()
    {
        await using var node = new Node(FakeCluster.Settings("n1", 0, 0, false, ("DualCluster:Clusters:Old:Protocol", "grpc2")));

        await node.Host.StartAsync();

        var warning = Assert.Single(node.Warnings);
        Assert.Contains("DualCluster:Clusters:Old (Protocol 'grpc2') is neither used nor checked", warning, StringComparison.Ordinal);
        Assert.Contains("UseRocketMQ", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_memory_brokers_check_a_cluster_section_like_production_when_its_transport_is_registered()
    {
        await using var node = new Node(
            FakeCluster.Settings("n1", 0, 0, false, ("DualCluster:Clusters:New:Protocol", "Grpc")),
            b => b.AddTransportFactory(new EndpointRequiringFactory()));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => node.Host.StartAsync());

        Assert.Contains(ex.Failures, f => f.Contains("DualCluster:Clusters:New:Endpoint is missing", StringComparison.Ordinal));
    }

    /// <summary>Stands in for the gRPC transport's own check (the core does not reference the RocketMQ package).</summary>
    private sealed class EndpointRequiringFactory : IClusterTransportFactory
    {
        public string Protocol => "Grpc";

        public IClusterTransport Create(ClusterRole role, ClusterOptions options, IServiceProvider services) => throw new NotSupportedException();

        public IEnumerable<string> Validate(ClusterRole role, ClusterOptions options)
        {
            if (string.IsNullOrWhiteSpace(options.Endpoint))
            {
                yield return $"DualCluster:Clusters:{role}:Endpoint is missing: set the 5.x endpoint.";
            }
        }
    }
}
