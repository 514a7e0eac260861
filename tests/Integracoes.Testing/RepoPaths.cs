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

    /// <summary>The npm-installed test servers (Root/tests/servers, set up by ./test.sh with npm ci).</summary>
    public static string TestServersDirectory => Path.Combine(Root, "tests", "servers");

    /// <summary>
    /// A file of the npm-installed test servers, or a clear error when <c>npm ci</c> has not been run there.
    /// </summary>
    public static string TestServerFile(params string[] relativePath)
    {
        var path = Path.Combine([TestServersDirectory, .. relativePath]);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"{path} not found. Install the test servers: ./test.sh does it, or run `npm ci` in {TestServersDirectory}.");
        }

        return path;
    }

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
