namespace DualCluster.Tests;

/// <summary>Finds files of the repository (README, samples) from the test's output directory.</summary>
internal static class RepositoryFiles
{
    private static readonly Lazy<string> RootDirectory = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "DualCluster.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No DualCluster.sln above {AppContext.BaseDirectory}.");
    });

    /// <summary>The directory holding DualCluster.sln.</summary>
    public static string Root => RootDirectory.Value;

    /// <summary>Reads a repository file with '\n' line ends.</summary>
    public static string Read(string relativePath) =>
        File.ReadAllText(Path.Combine(Root, relativePath)).Replace("\r\n", "\n", StringComparison.Ordinal);
}
