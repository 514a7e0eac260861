namespace Integracoes.Testing;

/// <summary>Per-run directories for test servers' state and logs, and reading their logs.</summary>
public static class TempDirectory
{
    /// <summary>Creates <c>$TMPDIR/integracoes-PREFIX-RANDOM</c>, readable by the current user only.</summary>
    public static string Create(string prefix)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Test servers need Linux.");
        }

        var path = Path.Combine(Path.GetTempPath(), $"integracoes-{prefix}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>Deletes the directory, retrying briefly while a server that just stopped still releases files.</summary>
    public static async Task DeleteAsync(string path)
    {
        for (var attempt = 0; attempt < 5 && Directory.Exists(path); attempt++)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * (attempt + 1))).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of a log file that may still be written to.</summary>
    public static string ReadTail(string path, int lines)
    {
        string text;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            text = reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "(log is missing or unreadable)";
        }

        if (text.Length == 0)
        {
            return "(log is empty)";
        }

        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }
}
