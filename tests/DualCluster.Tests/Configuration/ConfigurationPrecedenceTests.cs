using DualCluster.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DualCluster.Tests.Configuration;

/// <summary>
/// Issue 18, finding 1: <c>Host.CreateApplicationBuilder</c> already loads appsettings.json (reload on) before the
/// environment and the command line. The README's snippet must not add the file again, or the file wins over the
/// environment and a secret kept out of the file is silently replaced by the file's empty value.
/// </summary>
public sealed class ConfigurationPrecedenceTests
{
    [Fact]
    public void An_environment_variable_overrides_the_json_file_when_the_host_builder_loads_it()
    {
        using var fixture = new PrecedenceFixture();
        var builder = fixture.CreateBuilder();

        using var host = fixture.Build(builder);

        Assert.Equal("from-env", host.Services.GetRequiredService<IDualClusterStatus>().GetStatus().NodeId);
        Assert.Equal("sk-from-env", builder.Configuration[$"{fixture.Section}:Clusters:Old:SecretKey"]);
    }

    [Fact]
    public void Adding_appsettings_json_again_lets_the_file_win_over_the_environment()
    {
        // The trap the README used to show: documented here so the README never shows it again.
        using var fixture = new PrecedenceFixture();
        var builder = fixture.CreateBuilder();
        builder.Configuration.AddJsonFile("appsettings.json", optional: false, reloadOnChange: false);

        using var host = fixture.Build(builder);

        Assert.Equal("from-file", host.Services.GetRequiredService<IDualClusterStatus>().GetStatus().NodeId);
        Assert.Equal("", builder.Configuration[$"{fixture.Section}:Clusters:Old:SecretKey"]);
    }

    [Fact]
    public void The_readme_does_not_add_appsettings_json_to_a_host_application_builder()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryFiles.Root, "README.md"));
        Assert.DoesNotContain("AddJsonFile(\"appsettings.json\", optional", readme, StringComparison.Ordinal);
    }

    /// <summary>
    /// A temporary content root with an appsettings.json, and environment variables under a section name unique to
    /// the test (process-wide variables named <c>DualCluster__…</c> would leak into tests running in parallel).
    /// </summary>
    private sealed class PrecedenceFixture : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("dualcluster-precedence-").FullName;

        public PrecedenceFixture()
        {
            File.WriteAllText(Path.Combine(_directory, "appsettings.json"), $$"""
                {
                  "{{Section}}": {
                    "NodeId": "from-file",
                    "Clusters": { "Old": { "Protocol": "InMemory", "SecretKey": "" } }
                  }
                }
                """);
            Environment.SetEnvironmentVariable($"{Section}__NodeId", "from-env");
            Environment.SetEnvironmentVariable($"{Section}__Clusters__Old__SecretKey", "sk-from-env");
        }

        public string Section { get; } = "DualClusterPrecedence" + Guid.NewGuid().ToString("N");

        public HostApplicationBuilder CreateBuilder() =>
            Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _directory, Args = [] });

        public IHost Build(HostApplicationBuilder builder)
        {
            builder.Services.AddDualCluster(builder.Configuration.GetSection(Section))
                .UseInMemoryBrokers(new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" }), new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" }));
            return builder.Build();
        }

        public void Dispose()
        {
            Environment.SetEnvironmentVariable($"{Section}__NodeId", null);
            Environment.SetEnvironmentVariable($"{Section}__Clusters__Old__SecretKey", null);
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A file watcher may still hold the directory for a moment; the temp dir is cleaned by the OS.
            }
        }
    }
}
