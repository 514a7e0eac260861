using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.Testing;

/// <summary>How the stand-in TOTVS answers its API endpoints (the token endpoint keeps working unless down).</summary>
public enum TotvsMode
{
    Normal,
    ServerError,
    TooManyRequests,
}

/// <summary>A lot close TOTVS received: the body, the token it came with and the idempotency key.</summary>
public sealed record TotvsReceived(JsonObject Body, string? IdempotencyKey);

/// <summary>
/// A stand-in for the TOTVS REST API on 127.0.0.1 (Kestrel), enforcing what the real one does for us:
/// <c>POST /api/auth/token</c> takes the password grant (form <c>grant_type=password&amp;username&amp;password</c>)
/// and issues bearer tokens that expire; every other endpoint answers 401 without a valid, unexpired
/// token. Master data (<c>GET /api/{produtos,lotes,velocidades-nominais,insumos,lotes-insumo}</c>) is
/// served in pages (<c>page</c>, <c>pageSize</c>, <c>{"items","hasNext"}</c>) filtered by
/// <c>alteradoDesde</c> (inclusive, on <c>alterado_em</c>). Lot closes (<c>POST /api/ordens-producao</c>)
/// are recorded, or refused with 422. It can answer 500 or 429, and be stopped and started again on the same port.
/// </summary>
public sealed class TotvsServer : IAsyncDisposable
{
    public const string Username = "integracao";
    public const string Password = "s3nha-totvs-e2e";

    private readonly ConcurrentDictionary<string, DateTime> _tokens = new();
    private readonly Lock _data = new();
    private readonly Dictionary<string, List<JsonObject>> _items = new(StringComparer.Ordinal);
    private LocalHttpServer? _server;
    private int _port;

    /// <summary>How long tokens live (the <c>expires_in</c> it answers).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    public TotvsMode Mode { get; set; } = TotvsMode.Normal;

    /// <summary>When set, lot closes are refused with 422 and <c>{"erro": this}</c>, as TOTVS does for an order it cannot take.</summary>
    public string? RefuseClosesWith { get; set; }

    public ConcurrentQueue<TotvsReceived> Received { get; } = new();

    /// <summary>Every master data query string received, by path (e.g. <c>/api/produtos</c>).</summary>
    public ConcurrentQueue<(string Path, string Query)> Queries { get; } = new();

    public int TokensIssued;
    public int Unauthorized;

    public string BaseUrl => $"http://127.0.0.1:{_port}/api";

    public static async Task<TotvsServer> StartAsync()
    {
        var server = new TotvsServer();
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts (again) on the same port, with the data it had: TOTVS back after an outage.</summary>
    public async Task StartAgainAsync()
    {
        _server = await LocalHttpServer.StartAsync(Map, _port);
        _port = _server.BaseUri.Port;
    }

    /// <summary>Stops listening: connections are refused, as when TOTVS is down.</summary>
    public async Task StopAsync()
    {
        if (_server is null) return;
        await _server.DisposeAsync();
        _server = null;
    }

    /// <summary>Revokes every token, as a TOTVS restart does: the next call gets 401 and must fetch a new one.</summary>
    public void RevokeTokens() => _tokens.Clear();

    /// <summary>Adds or replaces an item of a master data path (<c>produtos</c>, <c>lotes</c>, ...), keyed by <paramref name="key"/>.</summary>
    public void Put(string path, string key, JsonObject item)
    {
        item["__key"] = key;
        lock (_data)
        {
            if (!_items.TryGetValue(path, out var list)) _items[path] = list = [];
            list.RemoveAll(i => i["__key"]!.GetValue<string>() == key);
            list.Add(item);
        }
    }

    /// <summary>The seed's endpoint configuration JSON pointing at this server.</summary>
    public JsonObject Config(int? syncMinutes = null, int pageSize = 2) => new()
    {
        ["totvs"] = new JsonObject
        {
            ["baseUrl"] = BaseUrl,
            ["endpoints"] = new JsonObject
            {
                ["ordens"] = "/ordens-producao",
                ["produtos"] = "/produtos",
                ["lotes"] = "/lotes",
                ["velocidades"] = "/velocidades-nominais",
                ["insumos"] = "/insumos",
                ["lotesInsumo"] = "/lotes-insumo",
            },
            ["auth"] = new JsonObject { ["type"] = "bearer", ["tokenUrl"] = "/auth/token" },
            ["sincronizacao"] = new JsonObject { ["intervaloMinutos"] = syncMinutes ?? 60, ["tamanhoPagina"] = pageSize },
        },
    };

    private void Map(WebApplication app)
    {
        app.MapPost("/api/auth/token", async (HttpContext http) =>
        {
            var form = await http.Request.ReadFormAsync();
            if (form["grant_type"] != "password" || form["username"] != Username || form["password"] != Password)
                return Results.Json(new { error = "invalid_grant" }, statusCode: 401);
            var token = Guid.NewGuid().ToString("N");
            _tokens[token] = DateTime.UtcNow + TokenLifetime;
            Interlocked.Increment(ref TokensIssued);
            return Results.Json(new { access_token = token, token_type = "Bearer", expires_in = (int)TokenLifetime.TotalSeconds });
        });
        app.MapGet("/api/{path}", (string path, HttpContext http) =>
        {
            if (Refusal(http) is { } refused) return refused;
            Queries.Enqueue(("/api/" + path, http.Request.QueryString.Value ?? ""));
            var page = int.Parse(http.Request.Query["page"].ToString() is { Length: > 0 } p ? p : "1", CultureInfo.InvariantCulture);
            var size = int.Parse(http.Request.Query["pageSize"].ToString() is { Length: > 0 } s ? s : "100", CultureInfo.InvariantCulture);
            DateTimeOffset? since = http.Request.Query["alteradoDesde"].ToString() is { Length: > 0 } d
                ? DateTimeOffset.Parse(d, CultureInfo.InvariantCulture) : null;
            List<JsonObject> matching;
            lock (_data)
            {
                matching = [.. (_items.GetValueOrDefault(path) ?? [])
                    .Where(i => since is null || DateTimeOffset.Parse(i["alterado_em"]!.GetValue<string>(), CultureInfo.InvariantCulture) >= since)
                    .OrderBy(i => i["alterado_em"]!.GetValue<string>(), StringComparer.Ordinal)
                    .ThenBy(i => i["__key"]!.GetValue<string>(), StringComparer.Ordinal)
                    .Select(i => Without(i, "__key"))];
            }
            var items = matching.Skip((page - 1) * size).Take(size).ToList();
            return Results.Json(new JsonObject { ["items"] = new JsonArray([.. items]), ["hasNext"] = page * size < matching.Count });
        });
        app.MapPost("/api/ordens-producao", async (HttpContext http) =>
        {
            if (Refusal(http) is { } refused) return refused;
            var body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject;
            if (body is null || body["numero_op"] is null) return Results.Json(new { erro = "numero_op obrigatório" }, statusCode: 422);
            if (RefuseClosesWith is { } reason) return Results.Json(new { erro = reason }, statusCode: 422);
            Received.Enqueue(new TotvsReceived(body, http.Request.Headers["Idempotency-Key"].ToString() is { Length: > 0 } k ? k : null));
            return Results.Json(new { status = "OP atualizada" }, statusCode: 201);
        });
    }

    private IResult? Refusal(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)
            || !_tokens.TryGetValue(header["Bearer ".Length..], out var expires) || expires < DateTime.UtcNow)
        {
            Interlocked.Increment(ref Unauthorized);
            return Results.Json(new { error = "invalid_token" }, statusCode: 401);
        }
        return Mode switch
        {
            TotvsMode.ServerError => Results.Json(new { erro = "indisponível" }, statusCode: 500),
            TotvsMode.TooManyRequests => Results.Json(new { erro = "limite" }, statusCode: 429),
            _ => null,
        };
    }

    private static JsonObject Without(JsonObject item, string name)
    {
        var copy = item.DeepClone().AsObject();
        copy.Remove(name);
        return copy;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
