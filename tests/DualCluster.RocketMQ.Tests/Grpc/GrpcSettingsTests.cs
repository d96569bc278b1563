using DualCluster.RocketMQ.Grpc;
using DualCluster.RocketMQ.Remoting;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace DualCluster.RocketMQ.Tests.Grpc;

public sealed class GrpcSettingsTests
{
    private static List<string> Problems(Action<ClusterOptions> configure, ClusterRole role = ClusterRole.New) =>
        [.. new GrpcTransportFactory().Validate(role, GrpcTestOptions.Cluster(configure))];

    [Fact]
    public void Factory_serves_the_Grpc_protocol_name() => Assert.Equal("Grpc", new GrpcTransportFactory().Protocol);

    [Fact]
    public void Valid_settings_have_no_problems() =>
        Assert.Empty(Problems(o =>
        {
            o.Endpoint = "rmq-abc.rocketmq.example.com:8080";
            o.Namespace = "rmq-abc|ns_1";
            o.AccessKey = "ak";
            o.SecretKey = "sk";
            o.Settings["HeartbeatInterval"] = "00:00:05";
            o.Settings["ConsumerCacheSize"] = "64";
        }));

    [Fact]
    public void Missing_endpoint_names_the_key_and_the_fix()
    {
        var problem = Assert.Single(Problems(o => o.Endpoint = null, ClusterRole.Old));
        Assert.StartsWith("DualCluster:Clusters:Old:Endpoint", problem, StringComparison.Ordinal);
        Assert.Contains("host:port", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rmq.example.com")]
    [InlineData("10.0.0.5:9876;10.0.0.6:9876")]
    [InlineData("rmq.example.com:0")]
    [InlineData("rmq.example.com:http")]
    [InlineData("https://rmq.example.com:8080/path")]
    public void Malformed_endpoints_are_rejected_naming_the_key(string endpoint) =>
        Assert.Contains(Problems(o => o.Endpoint = endpoint), p => p.StartsWith("DualCluster:Clusters:New:Endpoint", StringComparison.Ordinal));

    [Fact]
    public void Access_key_without_secret_key_is_rejected_both_ways()
    {
        Assert.Contains(Problems(o => o.AccessKey = "ak"), p => p.StartsWith("DualCluster:Clusters:New:SecretKey", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.SecretKey = "sk"), p => p.StartsWith("DualCluster:Clusters:New:AccessKey", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.SecurityToken = "t"), p => p.StartsWith("DualCluster:Clusters:New:SecurityToken", StringComparison.Ordinal));
    }

    [Fact]
    public void Tls_true_with_an_http_endpoint_is_a_contradiction()
    {
        var problem = Assert.Single(Problems(o =>
        {
            o.Endpoint = "http://rmq.example.com:8081";
            o.Tls = true;
        }));
        Assert.Contains("https://", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_timeouts_and_tuning_values_name_their_keys()
    {
        var problems = Problems(o =>
        {
            o.RequestTimeout = TimeSpan.Zero;
            o.MaxBodySize = 0;
            o.Namespace = "has space";
            o.Settings["RouteRefreshInterval"] = "soon";
            o.Settings["LongPollingTimeout"] = "-00:00:01";
            o.Settings["ConsumerCacheSize"] = "0";
        });
        Assert.Contains(problems, p => p.StartsWith("DualCluster:Clusters:New:RequestTimeout", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("DualCluster:Clusters:New:MaxBodySize", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("DualCluster:Clusters:New:Namespace", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("DualCluster:Clusters:New:Settings:RouteRefreshInterval", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("DualCluster:Clusters:New:Settings:LongPollingTimeout", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("DualCluster:Clusters:New:Settings:ConsumerCacheSize", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("https://rmq.example.com:8080", false, true, "rmq.example.com", 8080)]
    [InlineData("http://127.0.0.1:8081", true, false, "127.0.0.1", 8081)]
    [InlineData("rmq.example.com:8080", true, true, "rmq.example.com", 8080)]
    [InlineData("rmq.example.com:8080", false, false, "rmq.example.com", 8080)]
    [InlineData("[::1]:8081", false, false, "::1", 8081)]
    public void Endpoint_scheme_decides_TLS_over_the_Tls_flag(string text, bool tlsFlag, bool tls, string host, int port)
    {
        Assert.True(GrpcEndpoint.TryParse(text, tlsFlag, out var endpoint, out _));
        Assert.Equal(new GrpcEndpoint(host, port, tls), endpoint);
        Assert.Equal(tls ? "https" : "http", endpoint!.Uri.Scheme);
    }

    [Fact]
    public void Endpoint_address_scheme_is_never_unspecified()
    {
        Assert.Equal(Apache.Rocketmq.V2.AddressScheme.Ipv4, new GrpcEndpoint("127.0.0.1", 1, false).ToProto().Scheme);
        Assert.Equal(Apache.Rocketmq.V2.AddressScheme.Ipv6, new GrpcEndpoint("::1", 1, false).ToProto().Scheme);
        Assert.Equal(Apache.Rocketmq.V2.AddressScheme.DomainName, new GrpcEndpoint("rmq.example.com", 1, false).ToProto().Scheme);
    }

    [Fact]
    public void Settings_are_read_from_the_cluster_section()
    {
        var options = GrpcTransportOptions.From(ClusterRole.New, GrpcTestOptions.Cluster(o =>
        {
            o.Endpoint = "https://rmq.example.com:8080";
            o.Namespace = " ns ";
            o.AccessKey = "ak";
            o.SecretKey = "sk";
            o.AllowInvalidCertificates = true;
            o.RequestTimeout = TimeSpan.FromSeconds(4);
            o.Settings["HeartbeatInterval"] = "00:00:02";
            o.Settings["ConsumerCacheSize"] = "64";
        }));

        Assert.True(options.AccessPoint.Tls);
        Assert.Equal("ns", options.Namespace);
        Assert.True(options.HasCredentials);
        Assert.True(options.AllowInvalidCertificates);
        Assert.Equal(TimeSpan.FromSeconds(4), options.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), options.RouteRefreshInterval);
        Assert.Equal(64, options.ConsumerCacheSize);
    }

    [Fact]
    public void Creating_a_transport_with_invalid_settings_throws_naming_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GrpcTransportFactory().Create(ClusterRole.New, GrpcTestOptions.Cluster(o => o.Endpoint = ""), new ServiceCollection().BuildServiceProvider()));
        Assert.Contains("DualCluster:Clusters:New:Endpoint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseRocketMQ_registers_both_protocols_once()
    {
        var services = new ServiceCollection();
        services.AddDualCluster(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build())
            .UseRocketMQ()
            .UseRocketMQ()
            .UseRocketMQGrpc()
            .UseRocketMQRemoting();

        var protocols = services.BuildServiceProvider().GetServices<IClusterTransportFactory>().Select(f => f.Protocol).Order(StringComparer.Ordinal);
        Assert.Equal(["Grpc", "Remoting"], protocols);
    }

    [Fact]
    public async Task Backlog_of_a_server_that_cannot_be_reached_is_a_transport_error_never_zero()
    {
        // The backlog is asked of the server now (GetOffset/QueryOffset where implemented): no server, no figures.
        await using var transport = new GrpcTransportFactory().Create(
            ClusterRole.Old, GrpcTestOptions.Cluster(o => o.Endpoint = $"http://127.0.0.1:{UnusedPort()}"), new ServiceCollection().BuildServiceProvider());

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(async () => await transport.BacklogProbe.GetBacklogAsync("group", "topic"));

        Assert.Equal(ClusterRole.Old, ex.Cluster);
        Assert.True(ex.IsTransient);
    }

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
