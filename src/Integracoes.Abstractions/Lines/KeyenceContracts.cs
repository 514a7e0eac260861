namespace Integracoes.Abstractions.Lines;

/// <summary>
/// How the SICFAR gateway lays out a record line (<c>clps.keyence.formato</c>). Columns are 0-based
/// indices into the line split by <see cref="Delimitador"/>.
/// </summary>
/// <param name="FormatoTimestamp">
/// <c>iso8601</c> (default: <c>2025-10-25 14:03:07.250</c>, <c>2025-10-25T14:03:07Z</c>, with or without an offset),
/// <c>unix_s</c>, <c>unix_ms</c>, or a .NET custom format such as <c>dd/MM/yyyy HH:mm:ss.fff</c>.
/// </param>
/// <param name="FusoHorario">IANA time zone of timestamps written without an offset (default <c>UTC</c>).</param>
/// <param name="Cabecalho">The first line of each file is a header and is skipped.</param>
/// <param name="Padrao">Which files of the directory are read (a file name pattern with <c>*</c> and <c>?</c>).</param>
[GenerateSerializer, Immutable]
public sealed record KeyenceFormat(
    [property: Id(0)] char Delimitador = ';',
    [property: Id(1)] int ColunaTimestamp = 0,
    [property: Id(2)] int ColunaSensor = 1,
    [property: Id(3)] int ColunaProducao = 2,
    [property: Id(4)] int ColunaRejeicao = 3,
    [property: Id(5)] string FormatoTimestamp = KeyenceFormat.Iso8601,
    [property: Id(6)] string FusoHorario = "UTC",
    [property: Id(7)] bool Cabecalho = false,
    [property: Id(8)] string Padrao = "*.txt")
{
    public const string Iso8601 = "iso8601";
    public const string UnixSeconds = "unix_s";
    public const string UnixMilliseconds = "unix_ms";

    public static readonly KeyenceFormat Default = new();

    /// <summary>The number of fields a record needs: one past the highest column used.</summary>
    public int FieldCount => Math.Max(Math.Max(ColunaTimestamp, ColunaSensor), Math.Max(ColunaProducao, ColunaRejeicao)) + 1;
}

/// <summary>
/// A directory of gateway files to watch, read from a service's <c>config_padrao.clps.keyence</c>.
/// <see cref="Directory"/> is the resolved absolute path, confined to the silo's KEYENCE root.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record KeyenceSource(
    [property: Id(0)] string Path,
    [property: Id(1)] string Directory,
    [property: Id(2)] KeyenceFormat Formato,
    [property: Id(3)] string? Gateway);

/// <summary>What the watcher knows of one file (<c>GET /api/linhas/arquivos</c>); counts since the watcher started.</summary>
/// <param name="Chave">The file key lines store positions under: path under the root, '#', generation.</param>
/// <param name="BytesLidos">Offset just past the last whole line read.</param>
[GenerateSerializer, Immutable]
public sealed record KeyenceFileStatus(
    [property: Id(0)] string Arquivo,
    [property: Id(1)] string Chave,
    [property: Id(2)] long Tamanho,
    [property: Id(3)] long BytesLidos,
    [property: Id(4)] long Registros,
    [property: Id(5)] long Malformados,
    [property: Id(6)] long SensoresDesconhecidos,
    [property: Id(7)] string? UltimoErro,
    [property: Id(8)] DateTimeOffset? UltimaLeitura);

/// <summary>The watcher of one instance: which directories it reads and how each file stands.</summary>
[GenerateSerializer, Immutable]
public sealed record KeyenceWatchStatus(
    [property: Id(0)] bool Habilitado,
    [property: Id(1)] IReadOnlyList<string> Diretorios,
    [property: Id(2)] IReadOnlyList<KeyenceFileStatus> Arquivos,
    [property: Id(3)] string? UltimoErro);

/// <summary>
/// Reads the SICFAR gateway's TXT files of one instance (keyed by instance) and feeds the line grains.
/// Configured by the instance's integration services whose <c>config_padrao</c> has <c>clps.keyence</c>.
/// </summary>
[Alias("Integracoes.IKeyenceWatcherGrain")]
public interface IKeyenceWatcherGrain : IGrainWithStringKey
{
    /// <summary>
    /// The service <paramref name="serviceId"/> now reads <paramref name="source"/>, or nothing (null:
    /// deleted, inactive, or no longer naming a KEYENCE path).
    /// </summary>
    [Alias("Configure")]
    Task ConfigureAsync(long serviceId, KeyenceSource? source);

    [Alias("Status"), Orleans.Concurrency.ReadOnly, Orleans.Concurrency.AlwaysInterleave]
    Task<KeyenceWatchStatus> StatusAsync();

    /// <summary>Activates the watcher (its activation starts polling), so a restarted silo reads on at once.</summary>
    [Alias("Wake")]
    Task WakeAsync();
}

/// <summary>
/// The instances that have a KEYENCE watcher (a single grain, key 0), so a silo that starts wakes them at
/// once instead of at their next one-minute reminder.
/// </summary>
[Alias("Integracoes.IKeyenceWatcherDirectoryGrain")]
public interface IKeyenceWatcherDirectoryGrain : IGrainWithIntegerKey
{
    [Alias("Set")]
    Task SetAsync(string instance, bool watching);

    [Alias("WakeAll")]
    Task WakeAllAsync();
}
