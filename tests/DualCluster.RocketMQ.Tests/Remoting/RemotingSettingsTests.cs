using DualCluster.RocketMQ.Remoting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DualCluster.RocketMQ.Tests.Remoting;

public sealed class RemotingSettingsTests
{
    private static List<string> Problems(Action<ClusterOptions> configure, ClusterRole role = ClusterRole.Old)
    {
        var options = new ClusterOptions { Protocol = "Remoting", NameServers = "127.0.0.1:9876" };
        configure(options);
        return [.. new RemotingTransportFactory().Validate(role, options)];
    }

    [Fact]
    public void Tls_true_is_refused_naming_the_key_and_the_fix_instead_of_sending_keys_in_plaintext()
    {
        var problem = Assert.Single(Problems(o =>
        {
            o.Tls = true;
            o.AccessKey = "ak";
            o.SecretKey = "sk";
        }));
        Assert.StartsWith("DualCluster:Clusters:Old:Tls is true", problem, StringComparison.Ordinal);
        Assert.Contains("plaintext", problem, StringComparison.Ordinal);
        Assert.Contains("set Tls to false", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_false_is_accepted() => Assert.Empty(Problems(o => o.Tls = false));

    [Fact]
    public async Task A_host_with_Tls_on_a_Remoting_cluster_does_not_start()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DualCluster:NodeId"] = "n1",
            ["DualCluster:Clusters:Old:Protocol"] = "Remoting",
            ["DualCluster:Clusters:Old:NameServers"] = "127.0.0.1:9876",
            ["DualCluster:Clusters:Old:Tls"] = "true",
            ["DualCluster:Clusters:New:Protocol"] = "Remoting",
            ["DualCluster:Clusters:New:NameServers"] = "127.0.0.1:9877",
            ["DualCluster:Producer:NewWeight"] = "0",
            ["DualCluster:Consumer:NewWeight"] = "0",
        });
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster")).UseRocketMQ().AddProducer();
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(ex.Failures, f => f.StartsWith("DualCluster:Clusters:Old:Tls is true", StringComparison.Ordinal));
    }
}
