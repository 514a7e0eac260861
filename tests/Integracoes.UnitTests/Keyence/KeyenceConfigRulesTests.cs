using Integracoes.Abstractions.Lines;

namespace Integracoes.UnitTests.Keyence;

public sealed class KeyenceConfigRulesTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("integracoes-keyence-rules-").FullName;
    private readonly string _root;

    public KeyenceConfigRulesTests()
    {
        _root = Path.Combine(_base, "root");
        Directory.CreateDirectory(Path.Combine(_root, "linhas", "a"));
        Directory.CreateDirectory(Path.Combine(_base, "outside"));
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);

    private static string Config(string keyence) => """{"totvs":{"baseUrl":"https://totvs.example/api"},"clps":{"keyence":""" + keyence + "}}";

    private (KeyenceSource? Source, string? Field) Read(string keyence, string? root = "") =>
        KeyenceConfigRules.Read(Config(keyence), root == "" ? _root : root) is var (source, error) ? (source, error?.Field) : default;

    [Fact]
    public void The_seed_configuration_with_a_path_under_the_root_is_read_with_the_default_format()
    {
        var (source, field) = Read($$"""{"gateway":"192.168.1.100","protocol":"file","path":"{{_root}}/linhas/a"}""");

        Assert.Null(field);
        Assert.Equal(Path.Combine(_root, "linhas", "a"), source!.Directory);
        Assert.Equal("192.168.1.100", source.Gateway);
        Assert.Equal(KeyenceFormat.Default, source.Formato);
    }

    [Fact]
    public void A_relative_path_resolves_under_the_root() =>
        Assert.Equal(Path.Combine(_root, "linhas", "a"), Read("""{"path":"linhas/a"}""").Source!.Directory);

    [Fact]
    public void A_configuration_without_clps_keyence_names_no_source() =>
        Assert.Equal((null, null), KeyenceConfigRules.Read("""{"base_url":"https://x.example"}""", _root));

    [Theory]
    [InlineData("/etc")]
    [InlineData("../outside")]
    [InlineData("linhas/../../outside")]
    [InlineData("/")]
    public void Paths_outside_the_root_are_refused_naming_the_field(string path) =>
        Assert.Equal(KeyenceConfigRules.PathField, Read($$"""{"path":"{{path}}"}""").Field);

    [Fact]
    public void A_symbolic_link_inside_the_root_that_leads_outside_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "fuga"), Path.Combine(_base, "outside"));

        Assert.Equal(KeyenceConfigRules.PathField, Read("""{"path":"fuga"}""").Field);
        Assert.Equal(KeyenceConfigRules.PathField, Read("""{"path":"fuga/sub"}""").Field);
    }

    [Fact]
    public void Dot_dot_after_a_symbolic_link_climbs_from_its_target_as_the_kernel_does()
    {
        // root/desvio -> outside/deep; root/desvio/../x is outside/x to the kernel, though it reads like root/x.
        Directory.CreateDirectory(Path.Combine(_base, "outside", "deep"));
        File.CreateSymbolicLink(Path.Combine(_root, "desvio"), Path.Combine(_base, "outside", "deep"));

        Assert.Equal(KeyenceConfigRules.PathField, Read("""{"path":"desvio/../linhas"}""").Field);
    }

    [Fact]
    public void A_symbolic_link_that_stays_inside_the_root_is_followed()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "atalho"), Path.Combine(_root, "linhas", "a"));

        Assert.Equal(Path.Combine(_root, "linhas", "a"), Read("""{"path":"atalho"}""").Source!.Directory);
    }

    [Fact]
    public void A_root_that_is_itself_a_symbolic_link_is_compared_physically()
    {
        var link = Path.Combine(_base, "root-link");
        File.CreateSymbolicLink(link, _root);

        Assert.Equal(Path.Combine(_root, "linhas", "a"), Read($$"""{"path":"{{link}}/linhas/a"}""", link).Source!.Directory);
        Assert.Equal(Path.Combine(_root, "linhas", "a"), Read($$"""{"path":"{{_root}}/linhas/a"}""", link).Source!.Directory);
    }

    [Fact]
    public void A_symbolic_link_loop_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "l1"), Path.Combine(_root, "l2"));
        File.CreateSymbolicLink(Path.Combine(_root, "l2"), Path.Combine(_root, "l1"));

        Assert.Equal(KeyenceConfigRules.PathField, Read("""{"path":"l1"}""").Field);
    }

    [Fact]
    public void Without_a_root_file_ingestion_is_off_and_a_path_is_refused() =>
        Assert.Equal(KeyenceConfigRules.PathField, Read("""{"path":"linhas/a"}""", root: null).Field);

    [Theory]
    [InlineData("""{"protocol":"file"}""", "config_padrao.clps.keyence.path")]
    [InlineData("""{"path":""}""", "config_padrao.clps.keyence.path")]
    [InlineData("""{"path":"linhas","protocol":"opcua"}""", "config_padrao.clps.keyence.protocol")]
    [InlineData("""{"path":"linhas","formato":{"delimitador":";;"}}""", "config_padrao.clps.keyence.formato.delimitador")]
    [InlineData("""{"path":"linhas","formato":{"delimitador":"1"}}""", "config_padrao.clps.keyence.formato.delimitador")]
    [InlineData("""{"path":"linhas","formato":{"colunas":{"sensor":0}}}""", "config_padrao.clps.keyence.formato.colunas")]
    [InlineData("""{"path":"linhas","formato":{"colunas":{"lote":4}}}""", "config_padrao.clps.keyence.formato.colunas.lote")]
    [InlineData("""{"path":"linhas","formato":{"colunas":{"sensor":64}}}""", "config_padrao.clps.keyence.formato.colunas.sensor")]
    [InlineData("""{"path":"linhas","formato":{"formato_timestamp":"not a format"}}""", "config_padrao.clps.keyence.formato.formato_timestamp")]
    [InlineData("""{"path":"linhas","formato":{"fuso_horario":"Mars/Olympus"}}""", "config_padrao.clps.keyence.formato.fuso_horario")]
    [InlineData("""{"path":"linhas","formato":{"padrao":"../*.txt"}}""", "config_padrao.clps.keyence.formato.padrao")]
    [InlineData("""{"path":"linhas","formato":{"cabecalho":"sim"}}""", "config_padrao.clps.keyence.formato.cabecalho")]
    [InlineData("\"linhas\"", "config_padrao.clps.keyence")]
    public void Bad_fields_are_named(string keyence, string field) => Assert.Equal(field, Read(keyence).Field);

    [Fact]
    public void A_full_format_is_read()
    {
        var (source, field) = Read("""
            {"path":"linhas","formato":{"delimitador":"tab","colunas":{"timestamp":1,"sensor":0,"producao":3,"rejeicao":2},
             "formato_timestamp":"dd/MM/yyyy HH:mm:ss","fuso_horario":"America/Sao_Paulo","cabecalho":true,"padrao":"L*.log"}}
            """);

        Assert.Null(field);
        Assert.Equal(new KeyenceFormat('\t', 1, 0, 3, 2, "dd/MM/yyyy HH:mm:ss", "America/Sao_Paulo", true, "L*.log"), source!.Formato);
    }
}
