using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.EndToEndTests;

/// <summary>An instance and the real values a path parameter can name (0 or empty when it has no such resource).</summary>
internal sealed record Subject(string Instance, string Key, string KeyId, long ServiceId, long WebhookId, long FilaId, string EventId);

/// <summary>
/// Who attacks whom: instance A with one of everything, B (another tenant), C (a throwaway instance for
/// the routes the operator's key may use, so a route that rotates or revokes keys cannot lock A out), their clients, and
/// how a route's path and body are filled for a subject.
/// </summary>
internal sealed class AttackScene : IAsyncDisposable
{
    private const string Placeholder = "__attack_value__";
    private readonly List<string> _fallbacks = [];
    private int _unique;

    private AttackScene(OpenApiRoutes document, LocalHttpServer receiver, string tag)
    {
        Document = document;
        Receiver = receiver;
        Tag = tag;
    }

    public OpenApiRoutes Document { get; }

    /// <summary>Stands in for partners: webhook deliveries and service calls land here.</summary>
    public LocalHttpServer Receiver { get; }

    public string Tag { get; }

    public Subject A { get; private set; } = null!;
    public Subject B { get; private set; } = null!;
    public Subject C { get; private set; } = null!;

    public HttpClient Admin { get; private set; } = null!;
    public HttpClient AClient { get; private set; } = null!;
    public HttpClient BClient { get; private set; } = null!;

    /// <summary>
    /// Clients without a key, each from its own loopback address: requests without a valid key are
    /// limited per client IP (100 a minute), and the suite tests the 401, not that limit.
    /// </summary>
    public IReadOnlyList<HttpClient> Anonymous { get; private set; } = [];

    /// <summary>Text that only A's data contains; no answer to anyone else may include it.</summary>
    public IReadOnlyList<string> AData => [$"alpha-{Tag}", $"alpha_{Tag}", A.EventId, A.Key.Split('.')[1]];

    /// <summary>Path parameters the suite had no real value for (reported, never silent).</summary>
    public IReadOnlyList<string> Fallbacks
    {
        get
        {
            lock (_fallbacks) return [.. _fallbacks];
        }
    }

    public static async Task<AttackScene> CreateAsync(SiloFixture fixture, OpenApiRoutes document)
    {
        var receiver = await LocalHttpServer.StartAsync(app =>
        {
            app.MapPost("/hook/{**rest}", () => Results.Ok());
            app.Map("/svc/{**rest}", () => Results.Ok(new { ok = true }));
        });
        var tag = Guid.NewGuid().ToString("N")[..8];
        var scene = new AttackScene(document, receiver, tag);
        try
        {
            scene.A = await CreateWithResourcesAsync(fixture, $"atk-alpha-{tag}", tag, receiver);
            scene.B = await CreateAsync(fixture, $"atk-beta-{tag}");
            scene.C = await CreateAsync(fixture, $"atk-gamma-{tag}");
        }
        catch
        {
            await scene.DisposeAsync();
            throw;
        }
        scene.Admin = fixture.Http(SiloFixture.AdminKey);
        scene.AClient = fixture.Http(scene.A.Key);
        scene.BClient = fixture.Http(scene.B.Key);
        scene.Anonymous = [.. Enumerable.Range(20, 16).Select(i => FromAddress(fixture.Silo.BaseUri, IPAddress.Parse($"127.0.0.{i}")))];
        return scene;
    }

    /// <summary>
    /// Which keys each authorization policy (Integracoes.Api.Security.Policies) admits: the operator's,
    /// an instance's (for its own instance), or both. A route needs every policy it names.
    /// </summary>
    private static readonly Dictionary<string, (bool Operator, bool Instance)> PolicyAdmits = new()
    {
        ["admin"] = (true, false),
        ["instance-read"] = (false, true),
        ["instance-write"] = (false, true),
        ["instance-admin"] = (true, true),
        ["audit-read"] = (true, true),
    };

    public static IEnumerable<string> UnknownPolicies(DocumentedRoute route) => route.Roles.Where(r => !PolicyAdmits.ContainsKey(r));

    public static bool OperatorMay(DocumentedRoute route) => route.Roles.All(r => Admits(r).Operator);

    public static bool InstanceMay(DocumentedRoute route) => route.Roles.All(r => Admits(r).Instance);

    private static (bool Operator, bool Instance) Admits(string policy) => PolicyAdmits.TryGetValue(policy, out var admits)
        ? admits
        : throw new InvalidOperationException($"the document names the policy '{policy}', which the attack suite does not know: add it to PolicyAdmits.");

    /// <summary>The key the suite attacks a route with: the operator's (on the throwaway instance C) where it may, else A's.</summary>
    public HttpClient OwnClient(DocumentedRoute route) => OperatorMay(route) ? Admin : AClient;

    public Subject OwnSubject(DocumentedRoute route) => OperatorMay(route) ? C : A;

    /// <summary>The route's path with every parameter filled with the subject's value, except <paramref name="replaced"/>, which gets <paramref name="with"/>.</summary>
    public string Path(DocumentedRoute route, Subject subject, PathParameter? replaced = null, string? with = null) =>
        route.PathParameters.Aggregate(route.Template, (path, p) =>
            path.Replace("{" + p.Name + "}", Uri.EscapeDataString(p == replaced ? with! : Value(route, p, subject))));

    /// <summary>A body as valid as the suite can make it from the schema, with the subject's ids.</summary>
    public JsonObject Baseline(DocumentedRoute route, Subject subject) =>
        route.BodySchema is { } schema ? Document.Baseline(schema, field => Known(field, subject)) : [];

    public Func<HttpContent?> Body(DocumentedRoute route, Subject subject) =>
        route.HasBody ? () => Json(Baseline(route, subject).ToJsonString()) : () => null;

    /// <summary>The baseline with the value at <paramref name="path"/> replaced by raw bytes (which need not be JSON, nor UTF-8).</summary>
    public byte[] Spliced(DocumentedRoute route, Subject subject, IReadOnlyList<string> path, byte[] raw)
    {
        var text = OpenApiRoutes.With(Baseline(route, subject), path, Placeholder).ToJsonString();
        var at = text.IndexOf($"\"{Placeholder}\"", StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(text[..at]), .. raw, .. Encoding.UTF8.GetBytes(text[(at + Placeholder.Length + 2)..])];
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static ByteArrayContent Bytes(byte[] bytes, string mediaType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        return content;
    }

    /// <summary>A plausible value for a body field the suite knows by name; null leaves the field out.</summary>
    private JsonNode? Known(string field, Subject subject) => field switch
    {
        "nome" => $"atk-{Interlocked.Increment(ref _unique)}",
        "name" => $"atk-new-{Interlocked.Increment(ref _unique)}",
        "tipo" => "api",
        "descricao" => "attack suite",
        "url" => Receiver.Url("/hook/attack"),
        "eventos" => new JsonArray("erro_importacao"),
        "evento" => "nfe_importada",
        "dados" or "exemplo" => new JsonObject { ["n"] = 1 },
        "servico_id" => subject.ServiceId,
        "endpoint" => "raiz",
        "desde" => DateTimeOffset.UtcNow.AddHours(-1).ToString("O"),
        "rate_limit_por_minuto" => 0,
        "timeout" => 5,
        "auth_type" => "none",
        "config_padrao" => new JsonObject { ["base_url"] = Receiver.BaseUri.ToString().TrimEnd('/') },
        "endpoints" => new JsonObject { ["raiz"] = "/svc/ok" },
        _ => null,
    };

    /// <summary>The subject's real value for a path parameter, by the segment before it and its name; else a plausible one (reported).</summary>
    private string Value(DocumentedRoute route, PathParameter p, Subject s)
    {
        var value = (p.Owner, p.Name) switch
        {
            ("servicos", "id") or (_, "servicoId" or "servico_id") => s.ServiceId.ToString(),
            ("webhooks", "id") or (_, "webhookId" or "webhook_id") => s.WebhookId.ToString(),
            ("filas", "id") or (_, "filaId" or "fila_id") => s.FilaId.ToString(),
            ("keys", "id") or (_, "keyId" or "key_id") => s.KeyId,
            ("eventos", "id") or (_, "eventId" or "evento_id") => s.EventId,
            ("instances", _) or (_, "name" or "instance") => s.Instance,
            _ => null,
        };
        if (value is not null) return value;
        lock (_fallbacks)
        {
            if (!_fallbacks.Contains($"{route} {{{p.Name}}}")) _fallbacks.Add($"{route} {{{p.Name}}}");
        }
        return p.Kind is "integer" or "number" ? "1" : "x";
    }

    private static async Task<Subject> CreateAsync(SiloFixture fixture, string instance)
    {
        var key = await fixture.CreateInstanceAsync(instance);
        return new Subject(instance, key, KeyIdOf(key), 0, 0, 0, Guid.Empty.ToString());
    }

    /// <summary>Instance A with a service, a subscription, a custom event, a published event and its queue item, and an execution.</summary>
    private static async Task<Subject> CreateWithResourcesAsync(SiloFixture fixture, string instance, string tag, LocalHttpServer receiver)
    {
        var key = await fixture.CreateInstanceAsync(instance);
        using var http = fixture.Http(key);
        var service = await CreatedAsync(await http.PostAsJsonAsync("api/integracoes/servicos/", new
        {
            nome = $"svc-alpha-{tag}",
            tipo = "api",
            descricao = $"descricao alpha-{tag}",
            config_padrao = new { base_url = receiver.BaseUri.ToString().TrimEnd('/') },
            auth_type = "bearer",
            auth = new { token = $"tok-alpha-{tag}" },
            endpoints = new { raiz = "/svc/ok" },
            timeout = 5,
        }));
        var serviceId = service.GetProperty("id").GetInt64();
        var webhook = await CreatedAsync(await http.PostAsJsonAsync("api/webhooks/", new { nome = $"wh-alpha-{tag}", url = receiver.Url($"/hook/alpha-{tag}"), eventos = "*" }));
        await CreatedAsync(await http.PostAsJsonAsync("api/integracoes/eventos/", new { nome = $"alpha_{tag}", descricao = $"evento alpha-{tag}", exemplo = new { n = 1 } }));
        var published = await http.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "nfe_importada", dados = new { marca = $"dados-alpha-{tag}" } });
        Assert.Equal(HttpStatusCode.Accepted, published.StatusCode);
        var eventId = JsonDocument.Parse(await published.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var filaId = await Eventually.GetAsync(async () =>
        {
            var page = JsonDocument.Parse(await http.GetStringAsync("api/integracoes/filas/")).RootElement;
            return page.GetProperty("count").GetInt32() > 0 ? page.GetProperty("results")[0].GetProperty("id").GetInt64() : (long?)null;
        }, TimeSpan.FromSeconds(30), "A's queue item");
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("api/integracoes/testar/", new { servico_id = serviceId, endpoint = "raiz" })).StatusCode);
        return new Subject(instance, key, KeyIdOf(key), serviceId, webhook.GetProperty("id").GetInt64(), filaId!.Value, eventId);
    }

    public static async Task<JsonElement> CreatedAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string KeyIdOf(string key) => key["intg_".Length..key.IndexOf('.')];

    private static HttpClient FromAddress(Uri baseUri, IPAddress local) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        foreach (var client in Anonymous.Append(Admin).Append(AClient).Append(BClient).OfType<HttpClient>())
        {
            client.Dispose();
        }
        await Receiver.DisposeAsync();
    }
}
