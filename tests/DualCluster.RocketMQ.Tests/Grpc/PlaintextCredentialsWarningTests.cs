using DualCluster.RocketMQ.Grpc;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>Credentials about to travel in plaintext are warned about once per cluster, when its transport is created at start.</summary>
public sealed class PlaintextCredentialsWarningTests
{
    private static List<(LogLevel Level, int EventId, string Text, Exception? Exception)> Create(IClusterTransportFactory factory, ClusterRole role, ClusterOptions options)
    {
        var sink = new LogCapture();
        using var services = new ServiceCollection().AddSingleton<ILoggerFactory>(sink).BuildServiceProvider();
        var transport = factory.Create(role, options, services);
        transport.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return [.. sink.Entries];
    }

    [Fact]
    public void Keys_over_an_http_endpoint_are_warned_about_once_naming_the_cluster()
    {
        var entries = Create(new GrpcTransportFactory(), ClusterRole.New,
            new ClusterOptions { Protocol = "Grpc", Endpoint = "http://127.0.0.1:8081", AccessKey = "ak-plain", SecretKey = "sk-plain-secret" });

        var warning = Assert.Single(entries, e => e.EventId == 4115);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.StartsWith("[New]", warning.Text, StringComparison.Ordinal);
        Assert.Contains("replay", warning.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-plain-secret", warning.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("ak-plain", warning.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_over_tls_or_no_keys_over_http_are_not_warned_about()
    {
        Assert.DoesNotContain(Create(new GrpcTransportFactory(), ClusterRole.New,
            new ClusterOptions { Protocol = "Grpc", Endpoint = "https://127.0.0.1:8081", AccessKey = "ak", SecretKey = "sk" }), e => e.EventId == 4115);
        Assert.DoesNotContain(Create(new GrpcTransportFactory(), ClusterRole.New,
            new ClusterOptions { Protocol = "Grpc", Endpoint = "http://127.0.0.1:8081" }), e => e.EventId == 4115);
    }

    [Fact]
    public void Keys_over_remoting_are_warned_about_once_naming_the_cluster()
    {
        var entries = Create(new RemotingTransportFactory(), ClusterRole.Old,
            new ClusterOptions { Protocol = "Remoting", NameServers = "127.0.0.1:9876", AccessKey = "ak-plain", SecretKey = "sk-plain-secret" });

        var warning = Assert.Single(entries, e => e.EventId == 5112);
        Assert.StartsWith("[Old]", warning.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-plain-secret", warning.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Create(new RemotingTransportFactory(), ClusterRole.Old,
            new ClusterOptions { Protocol = "Remoting", NameServers = "127.0.0.1:9876" }), e => e.EventId == 5112);
    }
}
