using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using static Integracoes.EndToEndTests.AttackPayloads;

namespace Integracoes.EndToEndTests;

/// <summary>
/// The attack suite (issue 4 point 8). It reads /openapi/v1.json, so a new route is attacked without
/// editing this file: every operation without a key, with malformed and wrong keys, with another
/// instance's key, and, with its own key, with hostile path parameters, query strings, headers and
/// bodies. No answer may be a 5xx, every refusal is problem+json, nothing of one instance reaches
/// another, and the silo is healthy afterwards. The counts per category go to the test output and are
/// checked against minimums, so the suite cannot shrink unnoticed.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class AttackSuiteTests(SiloFixture fixture, ITestOutputHelper output)
{
    /// <summary>Requests per category for the document as it is (66 operations): the suite may grow, never shrink unnoticed.</summary>
    private static readonly Dictionary<string, int> Minimums = new()
    {
        ["no key"] = 132,
        ["malformed key"] = 330,
        ["wrong secret"] = 264,
        ["another instance's key"] = 61,
        ["instance key on operator route"] = 10,
        ["admin key on instance route"] = 55,
        ["hostile path parameter"] = 836,
        ["hostile query string"] = 5984,
        ["hostile headers"] = 310,
        ["undocumented method"] = 52,
        ["broken JSON"] = 240,
        ["wrong JSON types"] = 537,
        ["1 MB and 100 KB strings"] = 130,
        ["10 KB strings"] = 65,
        ["hostile strings"] = 715,
        ["nesting 10,000 deep"] = 159,
        ["invalid UTF-8"] = 642,
        ["empty and null bodies"] = 72,
        ["wrong content type"] = 168,
        ["junk body where none is expected"] = 18,
        ["injection stored and read back"] = 17,
        ["routes outside the document"] = 22,
        ["health after the attack"] = 6,
    };

    private readonly AttackLedger _ledger = new();

    [Fact]
    public async Task The_openapi_document_declares_the_key_schemes_and_which_routes_need_which_key()
    {
        var document = await ReadDocumentAsync();

        Assert.Contains("bearer", document.DeclaredSchemes);
        Assert.Contains("api_key", document.DeclaredSchemes);
        Assert.Equal("http", document.SecurityScheme("bearer").GetProperty("type").GetString());
        Assert.Equal("bearer", document.SecurityScheme("bearer").GetProperty("scheme").GetString());
        Assert.Equal("apiKey", document.SecurityScheme("api_key").GetProperty("type").GetString());
        Assert.Equal("header", document.SecurityScheme("api_key").GetProperty("in").GetString());
        Assert.Equal("X-Api-Key", document.SecurityScheme("api_key").GetProperty("name").GetString());
        Assert.All(document.Routes.Where(r => r.Template.StartsWith("/api/", StringComparison.Ordinal)), r =>
        {
            Assert.False(r.Anonymous, $"{r} has no security requirement");
            Assert.Equal(["api_key", "bearer"], r.Schemes.Order());
        });
        Assert.All(document.Routes, r => Assert.Empty(AttackScene.UnknownPolicies(r)));
        Assert.All(document.Routes.Where(r => r.Template.StartsWith("/api/instances", StringComparison.Ordinal)),
            r => Assert.True(r.Roles.All(p => p is "admin" or "instance-admin"), $"{r} manages instances but the document does not say it is an operator route"));
        Assert.Equal(["admin"], document.Routes.Single(r => r.Template == "/api/integracoes/requisicoes").Roles);
        Assert.Contains(document.Routes, r => r.Roles.Contains("instance-write"));
    }

    [Fact]
    public async Task Every_documented_route_withstands_missing_wrong_and_foreign_keys_and_hostile_input()
    {
        var started = Stopwatch.StartNew();
        var tablesBefore = await TablesAsync();
        var document = await ReadDocumentAsync();
        var routes = document.Routes;
        Assert.True(routes.Count >= 33, $"only {routes.Count} operations in the document");
        await using var scene = await AttackScene.CreateAsync(fixture, document);

        await _ledger.RunAsync(KeyAttacks(scene, routes));
        await _ledger.RunAsync(ForeignKeyAttacks(scene, routes));
        await AssertResourcesIntactAsync(scene);
        await _ledger.RunAsync(HostileRequestAttacks(scene, routes));
        await _ledger.RunAsync(HostileBodyAttacks(scene, routes));
        await InjectionsRoundTripAsync(scene);
        await RoutesOutsideTheDocumentAsync(scene);
        await HealthAfterTheAttackAsync(scene, tablesBefore);
        Report(scene, routes, started.Elapsed);

        Assert.True(_ledger.Failures.Count == 0, $"{_ledger.Failures.Count} wrong answers:\n" + string.Join('\n', _ledger.Failures.Take(60)));
        Assert.All(Minimums, m => Assert.True(_ledger.Counts.GetValueOrDefault(m.Key) >= m.Value,
            $"category '{m.Key}' ran {_ledger.Counts.GetValueOrDefault(m.Key)} requests, fewer than {m.Value}"));
        Assert.Empty(_ledger.Counts.Keys.Except(Minimums.Keys));
    }

    /// <summary>No key, malformed keys and wrong secrets: 401 with a challenge, and nothing of A's.</summary>
    private static IEnumerable<Attack> KeyAttacks(AttackScene scene, IReadOnlyList<DocumentedRoute> routes)
    {
        var sent = 0;
        foreach (var route in routes)
        {
            foreach (var (category, configure) in AttackPayloads.KeyAttacks(scene.A.Key))
            {
                var check = route.Anonymous
                    ? Expect.All(a => a.Status == 401 ? "the document says anonymous but the route wants a key" : null, Expect.ProblemWhenRefused)
                    : Expect.All(Expect.Status(401), Expect.Challenge, Expect.ProblemWhenRefused, Expect.NoneOf(scene.AData));
                var client = scene.Anonymous[sent++ % scene.Anonymous.Count];
                yield return new Attack(category, client, route.Method, scene.Path(route, scene.A), scene.Body(route, scene.A), check, configure);
            }
        }
    }

    /// <summary>B's key on A's resources, instance keys on operator routes, the admin key on instance routes.</summary>
    private static IEnumerable<Attack> ForeignKeyAttacks(AttackScene scene, IReadOnlyList<DocumentedRoute> routes)
    {
        foreach (var route in routes.Where(r => !r.Anonymous))
        {
            if (!AttackScene.InstanceMay(route))
            {
                foreach (var instanceKey in new[] { scene.AClient, scene.BClient })
                {
                    yield return new Attack("instance key on operator route", instanceKey, route.Method, scene.Path(route, scene.C), scene.Body(route, scene.C),
                        Expect.All(Expect.Status(403), Expect.ProblemWhenRefused));
                }
            }
            else
            {
                // A route naming one of A's resources must refuse B; any other answers B about B's own data.
                var namesA = route.PathParameters.Count > 0 || scene.Baseline(route, scene.A).ContainsKey("servico_id");
                yield return new Attack("another instance's key", scene.BClient, route.Method, scene.Path(route, scene.A), scene.Body(route, scene.A), namesA
                    ? Expect.All(Expect.Status(401, 403, 404), Expect.ProblemWhenRefused, Expect.NoneOf(scene.AData))
                    : Expect.All(Expect.ProblemWhenRefused, Expect.NoneOf(scene.AData)));
            }
            if (!AttackScene.OperatorMay(route))
            {
                yield return new Attack("admin key on instance route", scene.Admin, route.Method, scene.Path(route, scene.A), scene.Body(route, scene.A),
                    Expect.All(Expect.Status(403), Expect.ProblemWhenRefused, Expect.NoneOf(scene.AData)));
            }
        }
    }

    /// <summary>Hostile path parameters, query strings, headers and undocumented methods, with the route's own key.</summary>
    private static IEnumerable<Attack> HostileRequestAttacks(AttackScene scene, IReadOnlyList<DocumentedRoute> routes)
    {
        foreach (var route in routes)
        {
            var (client, subject) = (scene.OwnClient(route), scene.OwnSubject(route));
            foreach (var parameter in route.PathParameters)
            {
                foreach (var value in HostilePathValues)
                {
                    yield return new Attack("hostile path parameter", client, route.Method, scene.Path(route, subject, parameter, value), scene.Body(route, subject),
                        Expect.All(Expect.ClientError, Expect.ProblemWhenRefused));
                }
            }
            if (route.Method == "GET")
            {
                foreach (var name in QueryNames)
                {
                    foreach (var value in HostileQueryValues)
                    {
                        var encoded = value.StartsWith('%') ? value : Uri.EscapeDataString(value);
                        yield return new Attack("hostile query string", client, "GET", $"{scene.Path(route, subject)}?{name}={encoded}", null, Expect.ProblemWhenRefused);
                    }
                }
            }
            // Not on DELETE: with the route's own key and real ids that removes A's resources, which is its job.
            if (route.Method != "DELETE")
            {
                foreach (var (name, value) in HostileHeaders)
                {
                    yield return new Attack("hostile headers", client, route.Method, scene.Path(route, subject), scene.Body(route, subject),
                        Expect.ProblemWhenRefused, r => r.Headers.TryAddWithoutValidation(name, value), $"{name}: {AttackLedger.Shorten(value)}");
                }
            }
        }
        foreach (var path in routes.GroupBy(r => r.Template))
        {
            var route = path.First();
            var method = path.Any(r => r.Method == "PATCH") ? "TRACE" : "PATCH";
            yield return new Attack("undocumented method", scene.OwnClient(route), method, scene.Path(route, scene.OwnSubject(route)), null,
                Expect.All(Expect.Status(405), Expect.ProblemWhenRefused));
        }
    }

    /// <summary>
    /// Broken, mistyped, oversized, deeply nested, non-UTF-8, empty and mislabelled bodies, with the
    /// route's own key: all refused with a 4xx. Hostile strings and 10 KB strings in every string field
    /// may be accepted, but never answered with a 5xx.
    /// </summary>
    private static IEnumerable<Attack> HostileBodyAttacks(AttackScene scene, IReadOnlyList<DocumentedRoute> routes)
    {
        var refused = Expect.All(Expect.ClientError, Expect.ProblemWhenRefused);
        foreach (var route in routes.Where(r => r.HasBody || r.Method is "POST" or "PUT" or "PATCH"))
        {
            var (client, subject, path) = (scene.OwnClient(route), scene.OwnSubject(route), scene.Path(route, scene.OwnSubject(route)));
            if (!route.HasBody)
            {
                foreach (var junk in new[] { "{\"nome\": ", "[[[[", "\u0000\u0001\u0002" })
                {
                    yield return new Attack("junk body where none is expected", client, route.Method, path, () => AttackScene.Json(junk), Expect.ProblemWhenRefused);
                }
                continue;
            }
            Attack Body(string category, string label, byte[] bytes, Func<Answer, string?>? check = null, string mediaType = "application/json") =>
                new(category, client, route.Method, path, () => AttackScene.Bytes(bytes, mediaType), check ?? refused, Label: label);
            // As curl does for big uploads: the 413 then arrives before the body is sent, instead of racing the connection close.
            Attack Oversized(string label, byte[] bytes) =>
                new("1 MB and 100 KB strings", client, route.Method, path, () => AttackScene.Bytes(bytes, "application/json"),
                    Expect.All(Expect.Status(413), Expect.ProblemWhenRefused), r => r.Headers.ExpectContinue = true, label);

            foreach (var broken in BrokenJson) yield return Body("broken JSON", broken, Encoding.UTF8.GetBytes(broken));
            foreach (var root in WrongRoots) yield return Body("wrong JSON types", "root " + root, Encoding.UTF8.GetBytes(root));
            yield return Body("empty and null bodies", "empty", []);
            yield return Body("empty and null bodies", "null", "null"u8.ToArray());
            yield return Body("empty and null bodies", "blank", "   "u8.ToArray());
            var valid = Encoding.UTF8.GetBytes(scene.Baseline(route, subject).ToJsonString());
            foreach (var mediaType in WrongMediaTypes) yield return Body("wrong content type", mediaType, valid, mediaType: mediaType);
            yield return new Attack("wrong content type", client, route.Method, path, () => new ByteArrayContent(valid), refused, Label: "no Content-Type");
            yield return Body("nesting 10,000 deep", "root arrays", Encoding.UTF8.GetBytes(DeepArrays));
            yield return Body("nesting 10,000 deep", "root objects", Encoding.UTF8.GetBytes(DeepObjects));
            foreach (var bytes in InvalidUtf8) yield return Body("invalid UTF-8", "property name " + Convert.ToHexString(bytes), [(byte)'{', .. bytes, .. ": 1}"u8.ToArray()]);

            foreach (var field in scene.Document.Fields(route.BodySchema!.Value))
            {
                byte[] In(IReadOnlyList<string> at, byte[] raw) => scene.Spliced(route, subject, at, raw);
                foreach (var wrong in WrongTypes(field.Kind)) yield return Body("wrong JSON types", $"{field.Name} = {wrong}", In(field.Path, Encoding.UTF8.GetBytes(wrong)));
                yield return Body("nesting 10,000 deep", field.Name, In(field.Path, Encoding.UTF8.GetBytes(DeepArrays)));
                if (field.Kind == "any")
                {
                    // JSON kept as sent (dados, config_padrao...): not UTF-8 as a value, and as a member's name.
                    foreach (var bytes in InvalidUtf8)
                    {
                        yield return Body("invalid UTF-8", $"{field.Name} = {Convert.ToHexString(bytes)}", In(field.Path, bytes));
                        yield return Body("invalid UTF-8", $"{field.Name} = {{{Convert.ToHexString(bytes)}: 1}}", In(field.Path, [(byte)'{', .. bytes, .. ": 1}"u8.ToArray()]));
                    }
                }
                if (field.Kind is not ("string" or "map")) continue;
                // A map of strings (headers) gets the hostile value as the value of one entry.
                IReadOnlyList<string> at = field.Kind == "map" ? [.. field.Path, "X-Attack"] : field.Path;
                yield return Oversized(field.Name + " 1 MB", In(at, Quoted(new string('a', 1024 * 1024))));
                yield return Oversized(field.Name + " 100 KB", In(at, Quoted(new string('b', 100 * 1024))));
                yield return Body("10 KB strings", field.Name, In(at, Quoted(new string('c', 10 * 1024))), Expect.ProblemWhenRefused);
                foreach (var literal in HostileStringLiterals) yield return Body("hostile strings", $"{field.Name} = {literal}", In(at, Encoding.UTF8.GetBytes(literal)), Expect.ProblemWhenRefused);
                foreach (var bytes in InvalidUtf8) yield return Body("invalid UTF-8", $"{field.Name} = {Convert.ToHexString(bytes)}", In(at, bytes));
            }
        }
    }

    private static byte[] Quoted(string text) => Encoding.UTF8.GetBytes("\"" + text + "\"");

    /// <summary>Injection strings in services, subscriptions, events and published data are stored verbatim and come back escaped.</summary>
    private async Task InjectionsRoundTripAsync(AttackScene scene)
    {
        const string category = "injection stored and read back";
        var a = scene.AClient;
        var all = string.Join(" | ", Injections);
        // Its own event and subscription, so the queue item is found by subscription among the attack's many.
        await AttackScene.CreatedAsync(await a.PostAsJsonAsync("api/integracoes/eventos/", new { nome = "injecao_publicada", descricao = "attack suite", exemplo = new { v = 1 } }));
        var target = (await AttackScene.CreatedAsync(await a.PostAsJsonAsync("api/webhooks/",
            new { nome = "injecao", url = scene.Receiver.Url("/hook/injection"), eventos = new[] { "injecao_publicada" } }))).GetProperty("id").GetInt64();
        for (var i = 0; i < Injections.Length; i++)
        {
            var text = Injections[i];
            var service = await AttackScene.CreatedAsync(await a.PostAsJsonAsync("api/integracoes/servicos/",
                new { nome = text, tipo = "api", descricao = all, headers_padrao = new Dictionary<string, string> { ["X-Injecao"] = text } }));
            await ReadBackAsync(category, a, $"api/integracoes/servicos/{service.GetProperty("id").GetInt64()}/", body =>
                [(body.GetProperty("nome").GetString(), text), (body.GetProperty("descricao").GetString(), all), (body.GetProperty("headers_padrao").GetProperty("X-Injecao").GetString(), text)]);

            var webhook = await AttackScene.CreatedAsync(await a.PostAsJsonAsync("api/webhooks/",
                new { nome = text, url = scene.Receiver.Url("/hook/injection"), eventos = new[] { "erro_importacao" } }));
            await ReadBackAsync(category, a, $"api/webhooks/{webhook.GetProperty("id").GetInt64()}/", body => [(body.GetProperty("nome").GetString(), text)]);

            var evento = $"injecao_{i}";
            await AttackScene.CreatedAsync(await a.PostAsJsonAsync("api/integracoes/eventos/", new { nome = evento, descricao = text, exemplo = new { v = text } }));
            await ReadBackAsync(category, a, "api/integracoes/eventos/", body =>
            {
                var registered = body.GetProperty("results").EnumerateArray().Single(e => e.GetProperty("nome").GetString() == evento);
                return [(registered.GetProperty("descricao").GetString(), text), (registered.GetProperty("exemplo").GetProperty("v").GetString(), text)];
            });

            var published = await a.PostAsJsonAsync("api/integracoes/disparar/", new { evento = "injecao_publicada", dados = new { v = text, todos = all } });
            Assert.Equal(HttpStatusCode.Accepted, published.StatusCode);
            var eventId = JsonDocument.Parse(await published.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
            await ReadBackAsync(category, a, $"api/integracoes/filas/?servico_id={target}&limit=200", body =>
            {
                var item = body.GetProperty("results").EnumerateArray().First(q => q.GetProperty("payload").GetProperty("id").GetString() == eventId);
                var dados = item.GetProperty("payload").GetProperty("dados");
                return [(dados.GetProperty("v").GetString(), text), (dados.GetProperty("todos").GetString(), all)];
            });
        }
        await ReadBackAsync(category, a, "api/integracoes/servicos/?limit=200", body =>
        {
            var names = body.GetProperty("results").EnumerateArray().Select(s => s.GetProperty("nome").GetString()).ToList();
            return [.. Injections.Select(text => (names.Contains(text) ? text : null, text))];
        });
    }

    /// <summary>
    /// Reads <paramref name="path"/>: each decoded value equals what was stored, and the raw JSON has no
    /// '&lt;' or '&gt;' at all (a stored script tag is written as \u003Cscript\u003E).
    /// </summary>
    private async Task ReadBackAsync(string category, HttpClient client, string path, Func<JsonElement, IEnumerable<(string? Actual, string Expected)>> values)
    {
        _ledger.Count(category);
        var response = await client.GetAsync(path);
        var raw = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            _ledger.Fail(category, $"GET {path}", $"status {(int)response.StatusCode}: {AttackLedger.Shorten(raw)}");
            return;
        }
        if (raw.IndexOfAny(['<', '>']) is var at and >= 0)
        {
            _ledger.Fail(category, $"GET {path}", $"'<' or '>' unescaped in the JSON: ...{raw[Math.Max(0, at - 40)..Math.Min(raw.Length, at + 40)]}...");
        }
        try
        {
            foreach (var (actual, expected) in values(JsonDocument.Parse(raw).RootElement))
            {
                if (actual != expected) _ledger.Fail(category, $"GET {path}", $"stored '{expected}' but read back '{actual}'");
                if (expected.Contains("<script>", StringComparison.Ordinal) && !raw.Contains("\\u003Cscript\\u003E", StringComparison.Ordinal))
                {
                    _ledger.Fail(category, $"GET {path}", "the script tag is not written as \\u003Cscript\\u003E");
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            _ledger.Fail(category, $"GET {path}", $"what was stored is not in the answer ({e.Message}): {AttackLedger.Shorten(raw)}");
        }
    }

    /// <summary>Routes the document does not describe: health, the document itself, /docs and /metrics.</summary>
    private async Task RoutesOutsideTheDocumentAsync(AttackScene scene)
    {
        const string category = "routes outside the document";
        var anonymous = scene.Anonymous[0];
        foreach (var path in new[] { "/health/live", "/health/ready", "/openapi/v1.json", "/docs/" })
        {
            await _ledger.SendAsync(new Attack(category, anonymous, "GET", path, null, Expect.Status(200)));
            // Health checks answer every method; what matters is that junk never breaks them.
            await _ledger.SendAsync(new Attack(category, anonymous, "POST", path, () => AttackScene.Json(DeepArrays), Expect.ProblemWhenRefused));
        }
        await _ledger.SendAsync(new Attack(category, anonymous, "GET", "/metrics", null, Expect.All(Expect.Status(401), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, scene.AClient, "GET", "/metrics", null, Expect.All(Expect.Status(403), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, scene.Admin, "GET", "/metrics", null, Expect.Status(200)));
        await _ledger.SendAsync(new Attack(category, scene.AClient, "GET", "/api/nao-existe/", null, Expect.All(Expect.Status(404), Expect.ProblemWhenRefused)));
        // The WebSocket feed: refused before any upgrade unless the key is the instance's own.
        var ws = "/ws/" + scene.A.Instance;
        await _ledger.SendAsync(new Attack(category, anonymous, "GET", ws, null, Expect.All(Expect.Status(401), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, anonymous, "GET", ws + "?apikey=intg_0123456789abcdef.errada", null, Expect.All(Expect.Status(401), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, scene.BClient, "GET", ws, null, Expect.All(Expect.Status(404), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, scene.Admin, "GET", ws, null, Expect.All(Expect.Status(403), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, scene.AClient, "GET", ws, null, Expect.All(Expect.Status(400), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, scene.AClient, "GET", "/ws/" + new string('x', 5000), null, Expect.ProblemWhenRefused));
        // The production-line feed: any key of an instance (its own lines only), never anonymous or the operator's.
        await _ledger.SendAsync(new Attack(category, anonymous, "GET", "/ws/linhas", null, Expect.All(Expect.Status(401), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, anonymous, "GET", "/ws/linhas?apikey=intg_0123456789abcdef.errada", null, Expect.All(Expect.Status(401), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, scene.Admin, "GET", "/ws/linhas", null, Expect.All(Expect.Status(403), Expect.ProblemWhenRefused)));
        await _ledger.SendAsync(new Attack(category, scene.AClient, "GET", "/ws/linhas", null, Expect.All(Expect.Status(400), Expect.ProblemWhenRefused)));
    }

    /// <summary>The silo is ready, serves normal requests for A, B and the operator, and the database lost no table.</summary>
    private async Task HealthAfterTheAttackAsync(AttackScene scene, IReadOnlyList<string> tablesBefore)
    {
        const string category = "health after the attack";
        var ready = await _ledger.SendAsync(new Attack(category, scene.Anonymous[1], "GET", "/health/ready", null, Expect.Status(200)));
        if (ready is not null && !ready.Body.Contains("\"status\":\"healthy\"", StringComparison.Ordinal))
        {
            _ledger.Fail(category, "GET /health/ready", ready.Body);
        }
        // The hostile PUTs may have renamed A's service (A's own key may): it must still be A's.
        await _ledger.SendAsync(new Attack(category, scene.AClient, "GET", $"/api/integracoes/servicos/{scene.A.ServiceId}/", null,
            Expect.All(Expect.Status(200), x => x.Body.Contains($"\"instance\":\"{scene.A.Instance}\"") ? null : "A's service is not A's")));
        await _ledger.SendAsync(new Attack(category, scene.BClient, "GET", "/api/webhooks/", null, Expect.All(Expect.Status(200), Expect.NoneOf(scene.AData))));
        await _ledger.SendAsync(new Attack(category, scene.Admin, "GET", $"/api/instances/{scene.A.Instance}", null, Expect.Status(200)));
        await _ledger.SendAsync(new Attack(category, scene.AClient, "POST", "/api/integracoes/disparar/",
            () => AttackScene.Json("""{"evento":"nfe_importada","dados":{"depois":"do ataque"}}"""), Expect.Status(202)));
        _ledger.Count(category);
        if (await TablesAsync() is var tablesAfter && !tablesAfter.SequenceEqual(tablesBefore))
        {
            _ledger.Fail(category, "the database's tables", $"before: {string.Join(", ", tablesBefore)}; after: {string.Join(", ", tablesAfter)}");
        }
    }

    /// <summary>Nothing B, the admin key or the key attacks sent may have changed or removed A's service and subscription.</summary>
    private static async Task AssertResourcesIntactAsync(AttackScene scene)
    {
        var service = JsonDocument.Parse(await scene.AClient.GetStringAsync($"api/integracoes/servicos/{scene.A.ServiceId}/")).RootElement;
        var webhook = JsonDocument.Parse(await scene.AClient.GetStringAsync($"api/webhooks/{scene.A.WebhookId}/")).RootElement;
        Assert.Equal($"svc-alpha-{scene.Tag}", service.GetProperty("nome").GetString());
        Assert.Equal(scene.A.Instance, service.GetProperty("instance").GetString());
        Assert.EndsWith($"/hook/alpha-{scene.Tag}", webhook.GetProperty("url").GetString());
    }

    private async Task<OpenApiRoutes> ReadDocumentAsync()
    {
        using var http = fixture.Http();
        using var document = JsonDocument.Parse(await http.GetStringAsync("openapi/v1.json"));
        return new OpenApiRoutes(document.RootElement.Clone());
    }

    private async Task<List<string>> TablesAsync()
    {
        await using var command = fixture.DataSource.CreateCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new List<string>();
        while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        return tables;
    }

    private void Report(AttackScene scene, IReadOnlyList<DocumentedRoute> routes, TimeSpan elapsed)
    {
        output.WriteLine($"Attack suite: {routes.Count} operations ({routes.Count(r => r.Anonymous)} anonymous, {routes.Count(r => !AttackScene.InstanceMay(r))} operator-only, " +
            $"{routes.Count(r => r.HasBody)} with a JSON body), {_ledger.Total} requests and checks in {elapsed.TotalSeconds:0.0} s, " +
            $"{_ledger.Failures.Count} wrong answers; {_ledger.RefusedByServer} refused by Kestrel before the application.");
        foreach (var (category, count) in _ledger.Counts.OrderBy(c => Minimums.Keys.ToList().IndexOf(c.Key)))
        {
            output.WriteLine($"  {category,-36} {count,6}  (minimum {Minimums.GetValueOrDefault(category)})");
        }
        output.WriteLine(scene.Fallbacks.Count == 0
            ? "Every path parameter was filled with a real value of its instance."
            : "Path parameters filled with a plausible value (no real one known): " + string.Join(", ", scene.Fallbacks));
        foreach (var route in routes)
        {
            output.WriteLine($"  {route,-48} {(route.Anonymous ? "anonymous" : string.Join("+", route.Roles))}{(route.HasBody ? ", JSON body" : "")}");
        }
    }
}
