using Integracoes.Api;
using Integracoes.Api.Security;
using Integracoes.Silo.Extensions;
using Integracoes.Storage.Migrations;
using Scalar.AspNetCore;
using Serilog;

// appsettings.json sits beside the binary; run.sh starts it from the repository root.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddEnvironmentVariables("INTEGRACOES_");
var migrateOnly = args.Contains("migrate");
var settings = IntegracoesSettings.Load(builder.Configuration, migrateOnly);
builder.AddIntegracoesLogging();
await using var dataSource = settings.CreateDataSource();

// `Integracoes.Silo migrate` applies sql/ and exits; a normal start also applies anything new.
if (migrateOnly || settings.MigrateOnStart)
{
    using var loggers = LoggerFactory.Create(l => l.AddSerilog(new LoggerConfiguration().WriteTo.Console().CreateLogger(), dispose: true));
    var applied = await new SchemaMigrator(dataSource, loggers.CreateLogger<SchemaMigrator>()).MigrateAsync(settings.SqlPath);
    Console.WriteLine(applied.Count == 0 ? "Database schema is up to date." : $"Applied {applied.Count} migration(s).");
    if (migrateOnly) return;
}

builder.AddIntegracoesSilo(settings, dataSource);
builder.AddIntegracoesHttp(settings);
builder.AddIntegracoesTelemetry();

var app = builder.Build();
app.UseIntegracoesProxyHeaders(settings);
// The path without its query string (Serilog's default), so a WebSocket's ?apikey= is never written.
app.UseSerilogRequestLogging(o => o.GetLevel = (http, elapsedMs, error) =>
    error is not null || http.Response.StatusCode >= 500 ? Serilog.Events.LogEventLevel.Error
    : elapsedMs > 1_000 && !http.WebSockets.IsWebSocketRequest ? Serilog.Events.LogEventLevel.Warning
    : Serilog.Events.LogEventLevel.Debug);
app.UseIntegracoesApi();
app.MapIntegracoesApis();
app.MapScalarApiReference("/docs").AllowAnonymous();
app.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(Policies.Admin);
await app.RunAsync();
