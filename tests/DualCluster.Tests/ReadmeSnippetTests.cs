namespace DualCluster.Tests;

/// <summary>
/// Issue 18, finding 2: the README's worker compiles as a whole. The solution builds samples/ReadmeWorker; this test
/// keeps the README's block equal to that sample's Program.cs, so what a reader copies is what was compiled.
/// </summary>
public sealed class ReadmeSnippetTests
{
    private const string Marker = "<!-- This block equals samples/ReadmeWorker/Program.cs";

    [Fact]
    public void The_readme_worker_block_is_the_compiled_sample_word_for_word()
    {
        var readme = RepositoryFiles.Read("README.md");
        var sample = RepositoryFiles.Read("samples/ReadmeWorker/Program.cs");

        var marker = readme.IndexOf(Marker, StringComparison.Ordinal);
        Assert.True(marker >= 0, "The README lost the marker above its worker block.");
        var open = readme.IndexOf("```csharp\n", marker, StringComparison.Ordinal) + "```csharp\n".Length;
        var close = readme.IndexOf("```\n", open, StringComparison.Ordinal);
        var block = readme[open..close];

        Assert.Equal(sample, block);
    }

    [Fact]
    public void Readme_endpoints_say_TLS_by_their_scheme_as_the_key_table_does()
    {
        // Issue 18, finding 7: the scheme of Endpoint decides TLS and wins over Tls; examples write https:// instead.
        var readme = RepositoryFiles.Read("README.md");
        var examples = readme.Split('\n').Where(l => l.Contains("\"Endpoint\"", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(examples);
        Assert.All(examples, l => Assert.Matches("\"Endpoint\": \"https?://", l));
        Assert.DoesNotContain("\"Tls\": true", readme, StringComparison.Ordinal);
        Assert.Contains("a scheme decides TLS and wins over `Tls`", readme, StringComparison.Ordinal);
    }

    [Fact]
    public void The_readme_worker_names_its_packages_and_using_lines()
    {
        var sample = RepositoryFiles.Read("samples/ReadmeWorker/Program.cs");

        Assert.Contains("dotnet add package DualCluster.RocketMQ", sample, StringComparison.Ordinal);
        Assert.Contains("using DualCluster;", sample, StringComparison.Ordinal);
        Assert.Contains("Host.CreateApplicationBuilder(args)", sample, StringComparison.Ordinal);
        Assert.DoesNotContain(".AddJsonFile(", sample, StringComparison.Ordinal);
    }
}
