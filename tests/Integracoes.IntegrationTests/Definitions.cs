using Integracoes.Abstractions.Services;

namespace Integracoes.IntegrationTests;

internal static class Definitions
{
    public static ServiceDefinition Api(
        string nome,
        string tipo = "api",
        bool ativo = true,
        string? baseUrl = null,
        ServiceAuth? auth = null,
        ServiceCredentials? credentials = null,
        IReadOnlyList<ServiceEndpoint>? endpoints = null,
        int timeout = 10,
        string descricao = "test service") => new(
            nome, tipo, descricao,
            baseUrl is null ? "{}" : $$"""{"base_url":"{{baseUrl}}"}""",
            auth ?? ServiceAuth.None, credentials,
            endpoints ?? [],
            new Dictionary<string, string> { ["X-Default"] = "yes" },
            RetryConfig.Default, timeout, ativo);
}
