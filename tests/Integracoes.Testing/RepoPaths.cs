namespace Integracoes.Testing;

/// <summary>Well-known locations inside the repository, found from the test binaries' directory.</summary>
public static class RepoPaths
{
    private const string SolutionFileName = "Integracoes.sln";

    private static readonly Lazy<string> LazyRoot = new(FindRoot, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The repository root: the nearest ancestor of <see cref="AppContext.BaseDirectory"/> holding Integracoes.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The directory with the SQL migration scripts (Root/sql).</summary>
    public static string SqlDirectory => Path.Combine(Root, "sql");

    private static string FindRoot()
    {
        var start = AppContext.BaseDirectory;
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"Could not find {SolutionFileName} in '{start}' or any of its parent directories.");
    }
}
