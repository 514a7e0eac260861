using Integracoes.Api.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.OpenApi;

namespace Integracoes.Api.Http;

/// <summary>
/// Declares in /openapi/v1.json how a key is sent (<c>Authorization: Bearer</c> or <c>X-Api-Key</c>) and
/// which operations need one: every operation not marked AllowAnonymous, since the fallback policy
/// requires a key everywhere else. Each requirement lists the route's authorization policies
/// (<see cref="Policies"/>) as its roles, which OpenAPI 3.1 allows for non-OAuth schemes, so a client
/// (and the attack suite) can tell operator routes from instance routes without a list kept by hand.
/// </summary>
public sealed class ApiKeySecurityTransformer : IOpenApiDocumentTransformer
{
    public const string BearerScheme = "bearer";
    public const string HeaderScheme = "api_key";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "The admin key or an instance's API key (intg_...). 'Authorization: Token <key>' is accepted too.",
        };
        document.Components.SecuritySchemes[HeaderScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "The same key in the X-Api-Key header.",
        };

        foreach (var description in context.DescriptionGroups.SelectMany(g => g.Items))
        {
            var metadata = description.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<IAllowAnonymous>().Any() || Operation(document, description) is not { } operation)
            {
                continue;
            }
            var roles = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
            // Two requirements: either way of sending the key satisfies the operation.
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = roles });
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(HeaderScheme, document)] = [.. roles] });
        }
        return Task.CompletedTask;
    }

    private static OpenApiOperation? Operation(OpenApiDocument document, ApiDescription description)
    {
        if (description.HttpMethod is null || description.RelativePath is null) return null;
        return document.Paths.TryGetValue(ItemPath(description.RelativePath), out var item)
            && item.Operations?.TryGetValue(new HttpMethod(description.HttpMethod), out var operation) == true
                ? operation
                : null;
    }

    /// <summary>The document's key for a route, as the generator writes it: "servicos/{id:long}/" becomes "/servicos/{id}".</summary>
    private static string ItemPath(string relativePath)
    {
        var segments = RoutePatternFactory.Parse(relativePath).PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            RoutePatternSeparatorPart separator => separator.Content,
            _ => "",
        })));
        return "/" + string.Join('/', segments);
    }
}
