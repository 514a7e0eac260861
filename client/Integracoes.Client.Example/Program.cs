using Integracoes.Abstractions.Services;
using Integracoes.Client;

// Usage: INTEGRACOES_CONNECTION_STRING=... dotnet run --project client/Integracoes.Client.Example -- <instance>
var connectionString = Environment.GetEnvironmentVariable("INTEGRACOES_CONNECTION_STRING")
    ?? throw new InvalidOperationException("Set INTEGRACOES_CONNECTION_STRING to the cluster's PostgreSQL.");
var instance = args.FirstOrDefault() ?? "exemplo";

await using var client = await IntegracoesClient.ConnectAsync(new IntegracoesClientOptions
{
    ConnectionString = connectionString,
    ClusterId = Environment.GetEnvironmentVariable("INTEGRACOES_CLUSTER_ID") ?? "integracoes",
    ServiceId = Environment.GetEnvironmentVariable("INTEGRACOES_SERVICE_ID") ?? "integracoes",
});
var services = client.Services(instance);

var existing = await services.ListAsync(tipo: "api");
if (!existing.Results.Any(s => s.Nome == "viacep"))
{
    var created = await services.CreateAsync(new ServiceDefinition(
        Nome: "viacep",
        Tipo: "api",
        Descricao: "CEP lookup",
        ConfigPadraoJson: """{"base_url":"https://viacep.com.br"}""",
        Auth: ServiceAuth.None,
        Credentials: null,
        Endpoints: [new ServiceEndpoint("cep", "GET", "/ws/01001000/json/")],
        HeadersPadrao: new Dictionary<string, string>(),
        RetryConfig: RetryConfig.Default,
        Timeout: 10,
        Ativo: true));
    Console.WriteLine(created.IsOk ? $"registered service {created.Value!.Id}" : $"not registered: {created.Field}: {created.Detail}");
}

foreach (var service in (await services.ListAsync()).Results)
{
    Console.WriteLine($"{service.Id}\t{service.Nome}\t{service.Tipo}\tativo={service.Ativo}");
}
