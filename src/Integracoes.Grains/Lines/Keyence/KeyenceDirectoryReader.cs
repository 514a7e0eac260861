using System.Text;
using Integracoes.Abstractions.Lines;
using Microsoft.Extensions.Logging;

namespace Integracoes.Grains.Lines.Keyence;

/// <summary>Where the records of a directory go: the instance's sensor map and its line grains.</summary>
public interface IKeyenceLineRouter
{
    /// <summary>Sensor id as written in the files to line id.</summary>
    Task<IReadOnlyDictionary<string, string>> SensorMapAsync();

    Task IngestAsync(string lineId, SensorBatch batch);
}

/// <summary>
/// Tails the gateway files of one directory: each poll reads what the files gained since the last one,
/// whole lines only (a last line without its '\n' waits), parses them and hands each line's records,
/// in file order, to the router. A file's position moves only once every batch cut from it was accepted,
/// so a failed poll is simply read again; the lines skip what they already counted.
/// Nothing here is durable: on start each file resumes where the lines' stored positions say.
/// </summary>
public sealed class KeyenceDirectoryReader
{
    /// <summary>A record line longer than this is malformed (and skipped up to its line break).</summary>
    public const int MaxLineBytes = 4_096;

    private const int MaxBytesPerFilePerPoll = 512 * 1024;
    private const int MaxBytesPerPoll = 32 * 1024 * 1024;
    private const int MalformedLogsPerFilePerMinute = 20;
    private static readonly TimeSpan SensorMapRefresh = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SensorMapRefreshWhenUnknown = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan UnknownSensorLogInterval = TimeSpan.FromMinutes(1);

    private readonly string _root;
    private readonly KeyenceSource _source;
    private readonly KeyenceRecordParser _parser;
    private readonly IReadOnlyDictionary<string, long> _storedPositions;
    private readonly IKeyenceLineRouter _router;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _instance;
    private readonly Dictionary<string, TailedFile> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _unknownLogged = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, string> _sensorMap = new Dictionary<string, string>();
    private DateTimeOffset _sensorMapAt = DateTimeOffset.MinValue;
    private bool _unknownSeen;
    private int _rotation;

    /// <param name="storedPositions">File key to the lowest position the instance's lines made durable.</param>
    public KeyenceDirectoryReader(
        string instance, string root, KeyenceSource source, IReadOnlyDictionary<string, long> storedPositions,
        IKeyenceLineRouter router, TimeProvider time, ILogger logger)
    {
        _instance = instance;
        _root = root;
        _source = source;
        _parser = new KeyenceRecordParser(source.Formato);
        _storedPositions = storedPositions;
        _router = router;
        _time = time;
        _logger = logger;
    }

    public KeyenceSource Source => _source;

    /// <summary>Why the directory itself could not be read at the last poll, if it could not.</summary>
    public string? LastError { get; private set; }

    public IReadOnlyList<KeyenceFileStatus> Status() =>
        [.. _files.Values.OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => f.ToStatus())];

    /// <summary>Reads and routes what the files gained; returns the number of records handed to lines.</summary>
    public async Task<int> PollAsync()
    {
        var directory = KeyencePaths.Confine(_root, _source.Path);
        if (directory is null)
        {
            Fail("the configured path now resolves outside INTEGRACOES_KEYENCE_ROOT; nothing is read");
            return 0;
        }
        if (!Directory.Exists(directory))
        {
            Fail("the directory does not exist (yet)");
            return 0;
        }
        var realRoot = KeyencePaths.Resolve(Path.GetFullPath(_root))!;

        List<string> paths;
        try
        {
            paths = [.. Directory.EnumerateFiles(directory, _source.Formato.Padrao, new EnumerationOptions
            {
                RecurseSubdirectories = false,
                MatchType = MatchType.Simple,
                IgnoreInaccessible = true,
            })];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail("the directory cannot be listed: " + e.Message);
            return 0;
        }
        LastError = null;
        await RefreshSensorMapAsync();

        var seen = new HashSet<string>(paths, StringComparer.Ordinal);
        var cuts = new List<Cut>();
        long budget = MaxBytesPerPoll;
        paths.Sort(StringComparer.Ordinal);
        // Start where the last poll stopped when the budget ran out, so no file starves.
        var start = paths.Count == 0 ? 0 : _rotation % paths.Count;
        for (var i = 0; i < paths.Count; i++)
        {
            var path = paths[(start + i) % paths.Count];
            if (budget <= 0)
            {
                _rotation = (start + i) % paths.Count;
                break;
            }
            var cut = ReadFile(path, directory, realRoot);
            if (cut is null) continue;
            budget -= cut.Bytes;
            cuts.Add(cut);
        }
        foreach (var gone in _files.Keys.Where(p => !seen.Contains(p)).ToList())
        {
            _files.Remove(gone);
        }

        // Every line's batch of every file at once: a thousand lines must not wait on each other.
        var calls = new List<(Cut Cut, Task Call)>();
        foreach (var cut in cuts)
        {
            foreach (var (lineId, readings) in cut.Batches)
            {
                calls.Add((cut, Ingest(lineId, new SensorBatch(cut.File.Key, readings))));
            }
        }
        try
        {
            await Task.WhenAll(calls.Select(c => c.Call));
        }
        catch
        {
            // Each call's own exception is read below; the files it came from are read again next poll.
        }

        var failed = calls.Where(c => !c.Call.IsCompletedSuccessfully).ToLookup(c => c.Cut);
        var records = 0;
        foreach (var cut in cuts)
        {
            if (failed[cut].FirstOrDefault() is { Call.Exception: var exception })
            {
                var reason = exception?.InnerException?.Message ?? "the call was cancelled";
                cut.File.LastError = "a line did not accept its records (they are read again): " + reason;
                cut.File.IngestFailing = true;
                _logger.LogWarning(exception?.InnerException, "KEYENCE records of {File} of instance {Instance} were not accepted by a line; reading them again at the next poll",
                    cut.File.Name, _instance);
                continue;
            }
            cut.Commit(_time.GetUtcNow());
            records += cut.Records;
            KeyenceMetrics.Record(cut.Records, cut.Malformed, cut.Unknown, cut.Bytes);
        }
        return records;
    }

    private Task Ingest(string lineId, SensorBatch batch)
    {
        try
        {
            return _router.IngestAsync(lineId, batch);
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    private void Fail(string message)
    {
        if (LastError != message)
        {
            _logger.LogWarning("KEYENCE directory {Path} of instance {Instance} is not read: {Reason}", _source.Path, _instance, message);
        }
        LastError = message;
    }

    private async Task RefreshSensorMapAsync()
    {
        var now = _time.GetUtcNow();
        var age = now - _sensorMapAt;
        if (age < SensorMapRefresh && !(_unknownSeen && age >= SensorMapRefreshWhenUnknown)) return;
        _sensorMap = await _router.SensorMapAsync();
        _sensorMapAt = now;
        _unknownSeen = false;
    }

    /// <summary>What one file gained, cut into whole lines and parsed; null when there is nothing new.</summary>
    private Cut? ReadFile(string path, string directory, string realRoot)
    {
        var name = Path.GetFileName(path);
        if (new FileInfo(path).LinkTarget is not null && !IsConfined(path, realRoot))
        {
            Track(path, name, null).LastError = "a symbolic link that leads outside INTEGRACOES_KEYENCE_ROOT; not read";
            return null;
        }
        FileIdentity? identity;
        try
        {
            identity = FileIdentity.Of(path);
        }
        catch (IOException e)
        {
            Track(path, name, null).LastError = e.Message;
            return null;
        }
        if (identity is not { } id) return null;

        var file = Track(path, name, id);
        if (!file.Identity!.Value.SameFileAs(id))
        {
            _logger.LogInformation("KEYENCE file {File} of instance {Instance} was replaced: reading the new one from its start", name, _instance);
            file.Restart(id, ResumePosition(file.RelativePath, id));
        }
        else if (id.Size < file.Position)
        {
            _logger.LogWarning("KEYENCE file {File} of instance {Instance} shrank from {Position} to {Size} bytes: a new generation, read from its start",
                name, _instance, file.Position, id.Size);
            file.Truncate();
        }
        file.Size = id.Size;
        if (id.Size <= file.Position) return null;

        var length = (int)Math.Min(id.Size - file.Position, MaxBytesPerFilePerPoll);
        var bytes = new byte[length];
        int read;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            read = RandomAccess.Read(handle, bytes, file.Position);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file.LastError = e.Message;
            return null;
        }
        return Parse(file, bytes.AsSpan(0, read));
    }

    private static bool IsConfined(string path, string realRoot) =>
        KeyencePaths.Resolve(path) is { } real && KeyencePaths.IsInside(realRoot, real);

    private TailedFile Track(string path, string name, FileIdentity? identity)
    {
        if (_files.TryGetValue(path, out var file))
        {
            if (file.Identity is null && identity is { } first)
            {
                file.Restart(first, ResumePosition(file.RelativePath, first));
            }
            return file;
        }
        var relative = Path.GetRelativePath(KeyencePaths.Resolve(Path.GetFullPath(_root))!, KeyencePaths.Resolve(path) ?? path);
        file = new TailedFile(path, name, relative);
        if (identity is { } id)
        {
            file.Restart(id, ResumePosition(relative, id));
        }
        _files[path] = file;
        return file;
    }

    /// <summary>
    /// Where a file the watcher has not read yet starts: the stored position of its newest truncation
    /// generation, or a new generation at 0 when the file is now shorter than that position.
    /// </summary>
    private (int Truncations, long Position) ResumePosition(string relative, FileIdentity id)
    {
        var prefix = relative + "#" + id.Generation;
        var best = (Truncations: 0, Position: 0L);
        var found = false;
        foreach (var (key, position) in _storedPositions)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var rest = key.AsSpan(prefix.Length);
            int truncations;
            if (rest.IsEmpty) truncations = 0;
            else if (rest[0] == '~' && int.TryParse(rest[1..], out var n)) truncations = n;
            else continue;
            if (!found || truncations > best.Truncations)
            {
                best = (truncations, position);
                found = true;
            }
        }
        if (found && best.Position > id.Size) return (best.Truncations + 1, 0);
        return best;
    }

    private Cut? Parse(TailedFile file, ReadOnlySpan<byte> bytes)
    {
        var cut = new Cut(file);
        Span<char> chars = stackalloc char[MaxLineBytes];
        var discarding = file.Discarding;
        var offset = 0;
        while (offset < bytes.Length)
        {
            var newline = bytes[offset..].IndexOf((byte)'\n');
            var lineStart = file.Position + offset;
            if (newline < 0)
            {
                // An unfinished last line waits for its '\n', unless it is already too long to be a record.
                if (discarding)
                {
                    offset = bytes.Length;
                }
                else if (bytes.Length - offset >= MaxLineBytes)
                {
                    cut.Malformed++;
                    LogMalformed(file, cut, lineStart, cut.LinesEnded + 1, $"a line longer than {MaxLineBytes} bytes");
                    discarding = true;
                    offset = bytes.Length;
                }
                break;
            }
            var line = bytes.Slice(offset, newline);
            offset += newline + 1;
            cut.LinesEnded++;
            if (discarding)
            {
                discarding = false;
                continue;
            }
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (lineStart == 0 && line.StartsWith("\uFEFF"u8)) line = line[3..];
            if (lineStart == 0 && _source.Formato.Cabecalho) continue;
            if (line.Length > MaxLineBytes)
            {
                cut.Malformed++;
                LogMalformed(file, cut, lineStart, cut.LinesEnded, $"a line longer than {MaxLineBytes} bytes");
                continue;
            }
            if (line.Trim(" \t"u8).IsEmpty) continue;

            var text = chars[..Encoding.UTF8.GetChars(line, chars)];
            if (!_parser.TryParse(text, out var record, out var error))
            {
                cut.Malformed++;
                LogMalformed(file, cut, lineStart, cut.LinesEnded, error!);
                continue;
            }
            if (!_sensorMap.TryGetValue(record.SensorId, out var lineId))
            {
                cut.Unknown++;
                _unknownSeen = true;
                LogUnknown(file, record.SensorId);
                continue;
            }
            cut.Add(lineId, new SensorReading(file.Position + offset, record.Timestamp, record.Producao, record.Rejeicao));
        }
        cut.Bytes = offset;
        cut.DiscardTail = discarding;
        return offset == 0 ? null : cut;
    }

    private void LogMalformed(TailedFile file, Cut cut, long lineStart, int lineInCut, string reason)
    {
        var now = _time.GetUtcNow();
        if (now - file.MalformedWindowStart >= TimeSpan.FromMinutes(1))
        {
            if (file.MalformedSuppressed > 0)
            {
                _logger.LogWarning("{Suppressed} more malformed KEYENCE lines in {File} of instance {Instance} were not logged in the last minute",
                    file.MalformedSuppressed, file.Name, _instance);
            }
            file.MalformedWindowStart = now;
            file.MalformedLogged = 0;
            file.MalformedSuppressed = 0;
        }
        var lineNumber = LineNumberAt(file, lineInCut);
        cut.LastError = $"line {lineNumber}: {reason}";
        if (file.MalformedLogged++ < MalformedLogsPerFilePerMinute)
        {
            _logger.LogWarning("Malformed KEYENCE line {LineNumber} of {File} (instance {Instance}, byte {Offset}) skipped: {Reason}",
                lineNumber, file.Name, _instance, lineStart, reason);
        }
        else
        {
            file.MalformedSuppressed++;
        }
    }

    /// <summary>1-based number of the <paramref name="lineInCut"/>th line after the file's position; the lines before are counted once when resumed mid-file.</summary>
    private static long LineNumberAt(TailedFile file, int lineInCut)
    {
        if (file.LinesBefore is null)
        {
            long count = 0;
            try
            {
                using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var buffer = new byte[64 * 1024];
                long remaining = file.Position;
                while (remaining > 0)
                {
                    var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                    if (n == 0) break;
                    count += buffer.AsSpan(0, n).Count((byte)'\n');
                    remaining -= n;
                }
            }
            catch (IOException)
            {
                return -1;
            }
            file.LinesBefore = count;
        }
        return file.LinesBefore.Value + lineInCut;
    }

    private void LogUnknown(TailedFile file, string sensorId)
    {
        file.UnknownSensors.Add(sensorId);
        var now = _time.GetUtcNow();
        if (_unknownLogged.TryGetValue(sensorId, out var at) && now - at < UnknownSensorLogInterval) return;
        if (_unknownLogged.Count > 10_000) _unknownLogged.Clear();
        _unknownLogged[sensorId] = now;
        _logger.LogWarning("KEYENCE records of sensor {SensorId} in {File} are ignored: no line of instance {Instance} has that sensor id",
            sensorId, file.Name, _instance);
    }

    /// <summary>A file being tailed: its generation, its position and what was found in it since the watcher started.</summary>
    private sealed class TailedFile(string path, string name, string relativePath)
    {
        public string Path { get; } = path;
        public string Name { get; } = name;
        public string RelativePath { get; } = relativePath;
        public FileIdentity? Identity { get; set; }
        public int Truncations { get; private set; }
        public long Position { get; set; }
        public long Size { get; set; }

        /// <summary>Lines ended before <see cref="Position"/>; unknown until needed when the file was resumed mid-way.</summary>
        public long? LinesBefore { get; set; }

        /// <summary>Inside a line too long to be a record: everything up to its '\n' is dropped.</summary>
        public bool Discarding { get; set; }

        public long Records { get; set; }
        public long Malformed { get; set; }
        public long Unknown { get; set; }
        public HashSet<string> UnknownSensors { get; } = new(StringComparer.Ordinal);
        public string? LastError { get; set; }
        public bool IngestFailing { get; set; }
        public DateTimeOffset? LastRead { get; set; }
        public DateTimeOffset MalformedWindowStart { get; set; } = DateTimeOffset.MinValue;
        public int MalformedLogged { get; set; }
        public int MalformedSuppressed { get; set; }

        public string Key => RelativePath + "#" + Identity!.Value.Generation + (Truncations > 0 ? "~" + Truncations : "");

        public void Restart(FileIdentity identity, (int Truncations, long Position) start)
        {
            Identity = identity;
            Truncations = start.Truncations;
            Position = start.Position;
            LinesBefore = start.Position == 0 ? 0 : null;
            Discarding = false;
        }

        public void Truncate()
        {
            Truncations++;
            Position = 0;
            LinesBefore = 0;
            Discarding = false;
        }

        public KeyenceFileStatus ToStatus() => new(
            Name, Identity is null ? RelativePath : Key, Size, Position, Records, Malformed, Unknown, LastError, LastRead);
    }

    /// <summary>The whole lines cut from one file in one poll, grouped by line in file order.</summary>
    private sealed class Cut(TailedFile file)
    {
        public TailedFile File { get; } = file;
        public Dictionary<string, List<SensorReading>> Batches { get; } = new(StringComparer.Ordinal);
        public int Records { get; private set; }
        public int Malformed { get; set; }
        public int Unknown { get; set; }
        public int LinesEnded { get; set; }
        public int Bytes { get; set; }
        public bool DiscardTail { get; set; }
        public string? LastError { get; set; }

        public void Add(string lineId, SensorReading reading)
        {
            if (!Batches.TryGetValue(lineId, out var list)) Batches[lineId] = list = [];
            list.Add(reading);
            Records++;
        }

        public void Commit(DateTimeOffset now)
        {
            File.Position += Bytes;
            if (File.LinesBefore is { } before) File.LinesBefore = before + LinesEnded;
            File.Discarding = DiscardTail;
            File.Records += Records;
            File.Malformed += Malformed;
            File.Unknown += Unknown;
            if (LastError is not null) File.LastError = LastError;
            else if (File.IngestFailing) File.LastError = null;
            File.IngestFailing = false;
            File.LastRead = now;
        }
    }
}
