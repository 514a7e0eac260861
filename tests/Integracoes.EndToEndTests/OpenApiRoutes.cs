using System.Text.Json;
using System.Text.Json.Nodes;

namespace Integracoes.EndToEndTests;

/// <summary>A path parameter and the literal segment before it ("servicos" for /servicos/{id}), which says whose id it is.</summary>
internal sealed record PathParameter(string Name, string Kind, string Owner);

/// <summary>A field of a request body: its JSON path from the root and its kind (string, integer, number, boolean, object, map, array, any).</summary>
internal sealed record BodyField(IReadOnlyList<string> Path, string Kind)
{
    public string Name => string.Join('.', Path);
}

/// <summary>One operation of /openapi/v1.json as the attack suite sees it.</summary>
internal sealed record DocumentedRoute(
    string Method,
    string Template,
    bool Anonymous,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Schemes,
    IReadOnlyList<PathParameter> PathParameters,
    JsonElement? BodySchema)
{
    public bool HasBody => BodySchema is not null;

    public override string ToString() => $"{Method} {Template}";
}

/// <summary>
/// Reads the operations, security requirements and request-body schemas of the OpenAPI document, and
/// builds bodies from the schemas: a plausible baseline, and every field with its kind so each can be
/// replaced by a hostile value.
/// </summary>
internal sealed class OpenApiRoutes(JsonElement document)
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

    public IReadOnlyList<DocumentedRoute> Routes { get; } = Read(document);

    public IReadOnlyCollection<string> DeclaredSchemes { get; } =
        document.TryGetProperty("components", out var c) && c.TryGetProperty("securitySchemes", out var s)
            ? [.. s.EnumerateObject().Select(p => p.Name)]
            : [];

    public JsonElement SecurityScheme(string name) => document.GetProperty("components").GetProperty("securitySchemes").GetProperty(name);

    private static List<DocumentedRoute> Read(JsonElement document)
    {
        var routes = new List<DocumentedRoute>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)))
            {
                var requirements = operation.Value.TryGetProperty("security", out var security) ? security.EnumerateArray().ToList() : [];
                var roles = requirements.SelectMany(r => r.EnumerateObject()).SelectMany(p => p.Value.EnumerateArray()).Select(v => v.GetString()!).Distinct().ToList();
                var schemes = requirements.SelectMany(r => r.EnumerateObject()).Select(p => p.Name).Distinct().ToList();
                var segments = path.Name.Split('/');
                var parameters = operation.Value.TryGetProperty("parameters", out var ps)
                    ? ps.EnumerateArray()
                        .Where(p => p.GetProperty("in").GetString() == "path")
                        .Select(p =>
                        {
                            var name = p.GetProperty("name").GetString()!;
                            var at = Array.IndexOf(segments, "{" + name + "}");
                            var kind = p.TryGetProperty("schema", out var schema) && schema.TryGetProperty("type", out var t) ? TypeName(t) : "string";
                            return new PathParameter(name, kind, at > 0 ? segments[at - 1] : "");
                        })
                        .ToList()
                    : [];
                JsonElement? body = operation.Value.TryGetProperty("requestBody", out var rb)
                    && rb.TryGetProperty("content", out var content)
                    && content.TryGetProperty("application/json", out var json)
                    && json.TryGetProperty("schema", out var bodySchema)
                        ? bodySchema
                        : null;
                routes.Add(new DocumentedRoute(operation.Name.ToUpperInvariant(), path.Name, requirements.Count == 0, roles, schemes, parameters, body));
            }
        }
        return routes;
    }

    /// <summary>Every field reachable from the schema (through $ref and nullable oneOf), objects before their members.</summary>
    public IReadOnlyList<BodyField> Fields(JsonElement schema)
    {
        var fields = new List<BodyField>();
        Walk(Resolve(schema), [], fields, depth: 0);
        return fields;
    }

    private void Walk(JsonElement schema, List<string> path, List<BodyField> fields, int depth)
    {
        if (!schema.TryGetProperty("properties", out var properties) || depth > 4) return;
        foreach (var property in properties.EnumerateObject())
        {
            var fieldPath = new List<string>(path) { property.Name };
            var resolved = Resolve(property.Value);
            fields.Add(new BodyField(fieldPath, Kind(resolved)));
            Walk(resolved, fieldPath, fields, depth + 1);
        }
    }

    /// <summary>Follows $ref and picks the non-null branch of a nullable oneOf.</summary>
    public JsonElement Resolve(JsonElement schema)
    {
        for (var i = 0; i < 10; i++)
        {
            if (schema.TryGetProperty("$ref", out var reference))
            {
                var name = reference.GetString()!.Split('/').Last();
                schema = document.GetProperty("components").GetProperty("schemas").GetProperty(name);
            }
            else if (schema.TryGetProperty("oneOf", out var oneOf) || schema.TryGetProperty("anyOf", out oneOf))
            {
                var branches = oneOf.EnumerateArray().Where(b => !(b.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null")).ToList();
                if (branches.Count != 1) return schema;
                schema = branches[0];
            }
            else
            {
                return schema;
            }
        }
        return schema;
    }

    public static string Kind(JsonElement schema)
    {
        if (!schema.TryGetProperty("type", out var type)) return schema.TryGetProperty("properties", out _) ? "object" : "any";
        var name = TypeName(type);
        return name == "object" && !schema.TryGetProperty("properties", out _) ? "map" : name;
    }

    private static string TypeName(JsonElement type) => type.ValueKind == JsonValueKind.Array
        ? type.EnumerateArray().Select(t => t.GetString()!).FirstOrDefault(t => t != "null") ?? "any"
        : type.GetString() ?? "any";

    /// <summary>
    /// A body for the schema: fields the suite knows get a plausible value (<paramref name="known"/>), the
    /// others are left out, so the body is as valid as the suite can make it without knowing the route.
    /// </summary>
    public JsonObject Baseline(JsonElement schema, Func<string, JsonNode?> known)
    {
        var body = new JsonObject();
        var resolved = Resolve(schema);
        if (!resolved.TryGetProperty("properties", out var properties)) return body;
        foreach (var property in properties.EnumerateObject())
        {
            if (known(property.Name) is { } value) body[property.Name] = value;
        }
        return body;
    }

    /// <summary>A copy of <paramref name="body"/> with the value at <paramref name="path"/> replaced (intermediate objects created).</summary>
    public static JsonObject With(JsonObject body, IReadOnlyList<string> path, JsonNode? value)
    {
        var copy = (JsonObject)body.DeepClone();
        var target = copy;
        foreach (var segment in path.Take(path.Count - 1))
        {
            if (target[segment] is not JsonObject next)
            {
                next = [];
                target[segment] = next;
            }
            target = next;
        }
        target[path[^1]] = value;
        return copy;
    }
}
