using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Instances;
using Integracoes.Api.Apis;
using Integracoes.Api.Http;
using Integracoes.Api.Security;
using Integracoes.Api.WebSockets;
using Integracoes.Storage.Audit;
using Integracoes.Storage.Requests;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Integracoes.Api;

/// <summary>Settings of the HTTP front end.</summary>
public sealed record ApiSettings(string AdminKey, int MaxEventBytes = 256 * 1024, int RequestLogRetentionDays = 90, int RateLimitPerMinute = 100,
    WebSocketSettings? WebSockets = null);

/// <summary>Wires the thin HTTP front end: authentication, problem details, JSON and every endpoint group.</summary>
public static class ApiExtensions
{
    public const int MaxJsonDepth = 32;

    public static IServiceCollection AddIntegracoesApi(this IServiceCollection services, ApiSettings settings)
    {
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null;
            o.SerializerOptions.MaxDepth = MaxJsonDepth;
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
            // ASP.NET Core's default leaves '<', '>', '&' and '\'' unescaped; escaped (\u003C...), stored markup stays
            // inert wherever an answer ends up. Accented text is still written as it is.
            o.SerializerOptions.Encoder = JavaScriptEncoder.Create(UnicodeRanges.All);
            o.SerializerOptions.Converters.Add(new Utf8JsonElementConverter());
        });
        // Binding failures become exceptions so BadRequestExceptionHandler can name the field.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            // Framework-produced problems (413, 415, 405...) still name what is at fault.
            var problem = context.ProblemDetails;
            if (!problem.Extensions.ContainsKey("errors") && problem.Status is 413 or 415)
            {
                problem.Detail ??= problem.Status == 413
                    ? "The request body is larger than the server accepts."
                    : "Send the body as application/json.";
                problem.Extensions["errors"] = new Dictionary<string, string[]> { ["body"] = [problem.Detail] };
            }
        });
        services.AddExceptionHandler<BadRequestExceptionHandler>();

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(
                ApiKeyAuthenticationHandler.SchemeName, o => o.AdminKey = settings.AdminKey);
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Policies.InstanceRead, p => p.RequireClaim(Claims.Instance))
            .AddPolicy(Policies.InstanceWrite, p => p.RequireClaim(Claims.Instance).RequireAssertion(c =>
                c.User.FindFirstValue(Claims.Scope) is "write" or "admin"))
            .AddPolicy(Policies.InstanceAdmin, p => p.RequireAssertion(c => c.User.IsOperator()
                || (c.User.HasScope(KeyScope.Admin) && c.Resource is HttpContext http
                    && http.GetRouteValue("name") is string name && name == c.User.FindFirstValue(Claims.Instance))))
            .AddPolicy(Policies.AuditRead, p => p.RequireAssertion(c => c.User.IsOperator() || c.User.HasScope(KeyScope.Admin)));

        services.AddSingleton(settings);
        services.AddSingleton(new RequestLogSettings(settings.RequestLogRetentionDays));
        services.AddSingleton<RequestLogWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<RequestLogWriter>());
        services.AddSingleton<RequestLogQueries>();
        services.TryAddSingleton<AuditTrail>();
        services.AddRateLimiter(o => o.OnRejected = GrainRateLimiter.OnRejectedAsync);
        services.AddOptions<RateLimiterOptions>().Configure<IGrainFactory, TimeProvider>((o, grains, time) =>
            o.GlobalLimiter = new GrainRateLimiter(grains, settings.RateLimitPerMinute, time));
        services.AddIntegracoesWebSockets(settings.WebSockets ?? new WebSocketSettings());
        services.AddIntegracoesHealthChecks();
        services.AddOpenApi(o => o.AddDocumentTransformer<ApiKeySecurityTransformer>());
        return services;
    }

    public static WebApplication UseIntegracoesApi(this WebApplication app)
    {
        app.UseMiddleware<RequestLogMiddleware>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseWebSockets();
        app.UseAuthentication();
        // Every grain call of the request carries who made it, for the audit trail.
        app.Use((context, next) =>
        {
            AuditContext.Set(context.User.FindFirstValue(Claims.KeyId) ?? "anonimo", context.Connection.RemoteIpAddress?.ToString());
            return next(context);
        });
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    public static IEndpointRouteBuilder MapIntegracoesApis(this IEndpointRouteBuilder app)
    {
        app.MapHealthApi();
        app.MapOpenApi().AllowAnonymous();
        app.MapInstancesApi();
        app.MapServicesApi();
        app.MapWebhooksApi();
        app.MapEventsApi();
        app.MapRequestsApi();
        app.MapKeysApi();
        app.MapAuditApi();
        app.MapSinksApi();
        app.MapLinesApi();
        app.MapTotvsApi();
        app.MapLotsApi();
        app.MapKeyenceFilesApi();
        app.MapWebSocketApi();
        return app;
    }
}
