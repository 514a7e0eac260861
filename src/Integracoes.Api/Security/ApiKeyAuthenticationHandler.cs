using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Integracoes.Abstractions.Instances;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Integracoes.Api.Security;

public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    public string AdminKey { get; set; } = "";
}

/// <summary>
/// Accepts a key as <c>Authorization: Bearer</c>, <c>Authorization: Token</c> (the seed's Django REST
/// clients) or <c>X-Api-Key</c>, and on the WebSocket route also as <c>?apikey=</c> (browsers cannot set
/// headers on a WebSocket; nothing logs that query string: the request logs record path or route template only). The operator's admin key is compared in constant time; instance keys
/// are verified by their <see cref="IApiKeyGrain"/>, so a revoked key stops working on every silo at once.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IGrainFactory grains) : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ReadKey(Request);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        if (IsAdminKey(presented))
        {
            return Success(new Claim(ClaimTypes.Role, Roles.Admin), new Claim(Claims.KeyId, "admin"));
        }

        if (!ApiKeyFormat.TryParse(presented, out var keyId, out var secret))
        {
            return AuthenticateResult.Fail("malformed API key");
        }
        var identity = await grains.GetGrain<IApiKeyGrain>(keyId).VerifyAsync(secret, Context.Connection.RemoteIpAddress?.ToString());
        if (identity is null)
        {
            // One answer for unknown, wrong, revoked, expired and not-from-this-address: nothing to probe.
            return AuthenticateResult.Fail("unknown, revoked or expired API key, or not allowed from this address");
        }
        var claims = new List<Claim>
        {
            new(Claims.Instance, identity.Instance),
            new(Claims.KeyId, identity.KeyId),
            new(Claims.Scope, identity.Scope.ToString().ToLowerInvariant()),
        };
        if (identity.RateLimitPerMinute is { } limit)
        {
            claims.Add(new Claim(Claims.RateLimit, limit.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return Success([.. claims]);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblemAsync(StatusCodes.Status401Unauthorized, "Unauthorized",
            "Send a valid API key as 'Authorization: Bearer <key>', 'Authorization: Token <key>' or 'X-Api-Key: <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden", "This key may not use this route.");

    private Task WriteProblemAsync(int status, string title, string detail)
    {
        Response.StatusCode = status;
        return Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(Context);
    }

    private AuthenticateResult Success(params Claim[] claims)
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private bool IsAdminKey(string presented)
    {
        var expected = Encoding.UTF8.GetBytes(Options.AdminKey);
        var actual = Encoding.UTF8.GetBytes(presented);
        // Hash both so the comparison takes the same time whatever the lengths.
        return expected.Length > 0 && CryptographicOperations.FixedTimeEquals(SHA256.HashData(expected), SHA256.HashData(actual));
    }

    public static string? ReadKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue("X-Api-Key", out var apiKey) && !string.IsNullOrWhiteSpace(apiKey))
        {
            return apiKey.ToString().Trim();
        }
        var authorization = request.Headers.Authorization.ToString();
        foreach (var scheme in new[] { "Bearer ", "Token " })
        {
            if (authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return authorization[scheme.Length..].Trim();
            }
        }
        if (request.Path.StartsWithSegments("/ws", StringComparison.OrdinalIgnoreCase)
            && request.Query.TryGetValue("apikey", out var query) && !string.IsNullOrWhiteSpace(query))
        {
            return query.ToString().Trim();
        }
        return null;
    }
}

public static class Roles
{
    public const string Admin = "admin";
}

public static class Claims
{
    public const string Instance = "integracoes:instance";
    public const string KeyId = "integracoes:key_id";
    public const string Scope = "integracoes:scope";
    public const string RateLimit = "integracoes:rate_limit";
}

public static class Policies
{
    /// <summary>The operator's admin key.</summary>
    public const string Admin = "admin";

    /// <summary>Any key of an instance: reads of that instance's resources.</summary>
    public const string InstanceRead = "instance-read";

    /// <summary>An instance key with scope write or admin: changes to that instance's resources.</summary>
    public const string InstanceWrite = "instance-write";

    /// <summary>
    /// The operator's admin key, or an admin-scoped key of the instance named by the route's
    /// <c>{name}</c>: managing that instance's keys.
    /// </summary>
    public const string InstanceAdmin = "instance-admin";

    /// <summary>The operator's admin key, or any admin-scoped instance key (which sees only its own instance).</summary>
    public const string AuditRead = "audit-read";
}

public static class CallerExtensions
{
    public static bool IsOperator(this ClaimsPrincipal user) => user.IsInRole(Roles.Admin);

    public static bool HasScope(this ClaimsPrincipal user, KeyScope scope) =>
        user.FindFirstValue(Claims.Scope) == scope.ToString().ToLowerInvariant();

    /// <summary>The instance the request's key belongs to; endpoints behind the instance policies always have one.</summary>
    public static string Instance(this ClaimsPrincipal user) =>
        user.FindFirstValue(Claims.Instance) ?? throw new InvalidOperationException("route is not behind an instance policy");
}
