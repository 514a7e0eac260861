using System.Security.Cryptography;
using System.Text.Json;
using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Lines;
using Integracoes.Abstractions.Services;
using Integracoes.Abstractions.Totvs;
using Integracoes.Delivery.Services;
using Integracoes.Grains.Lines.Keyence;
using Integracoes.Storage.Executions;
using Integracoes.Storage.Secrets;
using Microsoft.Extensions.Logging;

namespace Integracoes.Grains.Services;

public sealed class IntegrationServiceState
{
    public int Version { get; set; } = 1;
    public bool Exists { get; set; }
    public string Instance { get; set; } = "";
    public string Nome { get; set; } = "";
    public string Tipo { get; set; } = "";
    public string? Descricao { get; set; }
    public string ConfigPadraoJson { get; set; } = "{}";
    public ServiceAuth Auth { get; set; } = ServiceAuth.None;

    /// <summary>The credentials as JSON, encrypted by <see cref="SecretProtector"/>; null when there are none.</summary>
    public string? EncryptedCredentials { get; set; }

    /// <summary>Which credentials are set (never their values), so reads need no decryption.</summary>
    public List<string> CredentialNames { get; set; } = [];

    public List<ServiceEndpoint> Endpoints { get; set; } = [];
    public Dictionary<string, string> HeadersPadrao { get; set; } = [];
    public RetryConfig RetryConfig { get; set; } = RetryConfig.Default;
    public int Timeout { get; set; } = 30;
    public bool Ativo { get; set; } = true;

    /// <summary>The service is a TOTVS connection (config_padrao.totvs): its <see cref="ITotvsSyncGrain"/> is configured.</summary>
    public bool Totvs { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed class IntegrationServiceGrain(
    [PersistentState("service", GrainStorage.Name)] IPersistentState<IntegrationServiceState> state,
    SecretProtector protector,
    ServiceInvoker invoker,
    ExecutionStore executions,
    KeyenceSettings keyence,
    TimeProvider time,
    ILogger<IntegrationServiceGrain> logger) : Grain, IIntegrationServiceGrain
{
    private const int MaxTestBodyChars = 256 * 1024;

    public async Task<Outcome<ServiceView>> InitializeAsync(string instance, ServiceDefinition definition)
    {
        if (state.State.Exists)
        {
            return Outcome<ServiceView>.Conflict("id", "service id already in use.");
        }
        state.State.Instance = instance;
        state.State.CreatedAt = time.GetUtcNow();
        return await ApplyAsync(definition, previous: null);
    }

    public async Task<Outcome<ServiceView>> UpdateAsync(string instance, ServiceDefinition definition)
    {
        if (!Owns(instance))
        {
            return Outcome<ServiceView>.NotFound($"service {this.GetPrimaryKeyLong()} not found.");
        }
        ServiceCredentials? previous;
        try
        {
            previous = ReadCredentials();
        }
        catch (CryptographicException)
        {
            // Encrypted under another key: unusable, so the update must supply them again.
            previous = null;
        }
        return await ApplyAsync(definition, previous);
    }

    public async Task<bool> DeleteAsync(string instance)
    {
        if (!Owns(instance))
        {
            return false;
        }
        if (state.State.Totvs)
        {
            await GrainFactory.GetGrain<ITotvsSyncGrain>(this.GetPrimaryKeyLong()).RemoveAsync(instance);
        }
        await state.ClearStateAsync();
        state.State = new IntegrationServiceState();
        return true;
    }

    public Task<ServiceView?> GetAsync(string instance) =>
        Task.FromResult(Owns(instance) ? ToView() : null);

    public async Task<Outcome<ExecutionView>> TestAsync(string instance, ServiceTestRequest request)
    {
        if (!Owns(instance))
        {
            return Outcome<ExecutionView>.NotFound($"service {this.GetPrimaryKeyLong()} not found.");
        }
        var s = state.State;
        if (!s.Ativo)
        {
            return Outcome<ExecutionView>.Conflict("servico_id", "the service is inactive (ativo=false).");
        }
        var target = ResolveTarget(request);
        if (!target.IsOk)
        {
            return target.As<ExecutionView>();
        }
        var (method, url) = target.Value;
        if (request.BodyJson is { Length: > MaxTestBodyChars })
        {
            return Outcome<ExecutionView>.Invalid("payload", "payload is too large.");
        }

        var headers = new Dictionary<string, string>(s.HeadersPadrao, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in request.Headers ?? new Dictionary<string, string>())
        {
            if (!ServiceDefinitionRules.IsHeaderName(name) || value.Length > ServiceDefinitionRules.MaxHeaderValue || value.Any(c => c is '\r' or '\n' or '\0'))
            {
                return Outcome<ExecutionView>.Invalid("headers", $"invalid header '{name}'.");
            }
            headers[name] = value;
        }

        var inicio = time.GetUtcNow();
        ServiceCredentials credentials;
        try
        {
            credentials = ReadCredentials() ?? new ServiceCredentials();
        }
        catch (CryptographicException)
        {
            logger.LogError("Credentials of service {ServiceId} cannot be decrypted: INTEGRACOES_ENCRYPTION_KEY differs from the key they were saved with", this.GetPrimaryKeyLong());
            var failed = await executions.AppendAsync(new NewExecution(
                s.Instance, this.GetPrimaryKeyLong(), inicio, time.GetUtcNow(), ExecutionStatus.Failure, null, null,
                "the stored credentials cannot be decrypted with the configured encryption key; set them again", 1, 0, 1));
            return Outcome<ExecutionView>.Ok(failed);
        }
        var call = new ServiceCall(method, url, headers, s.Auth, credentials, TimeSpan.FromSeconds(s.Timeout), request.BodyJson);
        var result = await invoker.InvokeAsync(call, CancellationToken.None);
        var fim = time.GetUtcNow();
        var ok = result.IsSuccess;
        var error = result.Error ?? (ok ? null : $"HTTP {result.StatusCode}");
        logger.LogInformation(
            "Service {ServiceId} of {Instance} tested: {Method} {Host} answered {StatusCode} in {DurationMs} ms",
            this.GetPrimaryKeyLong(), s.Instance, method, url.Host, result.StatusCode, result.Duration.TotalMilliseconds);

        var execution = await executions.AppendAsync(new NewExecution(
            s.Instance, this.GetPrimaryKeyLong(), inicio, fim,
            ok ? ExecutionStatus.Success : ExecutionStatus.Failure,
            ServiceInvoker.DescribeRequest(call),
            result.StatusCode is null ? null : ServiceInvoker.DescribeResponse(result),
            error, 1, ok ? 1 : 0, ok ? 0 : 1));
        return Outcome<ExecutionView>.Ok(execution);
    }

    private Outcome<(string Method, Uri Url)> ResolveTarget(ServiceTestRequest request)
    {
        var s = state.State;
        var baseUrl = ServiceDefinitionRules.BaseUrl(s.ConfigPadraoJson);
        ServiceEndpoint? endpoint = null;
        if (request.Endpoint is not null)
        {
            endpoint = s.Endpoints.FirstOrDefault(e => e.Nome == request.Endpoint);
            if (endpoint is null)
            {
                return Outcome<(string, Uri)>.Invalid("endpoint", $"the service has no endpoint named '{request.Endpoint}'.");
            }
        }
        else if (request.Url is null)
        {
            if (s.Endpoints.Count != 1)
            {
                return Outcome<(string, Uri)>.Invalid("endpoint", "name the endpoint to call (the service has " + s.Endpoints.Count + ").");
            }
            endpoint = s.Endpoints[0];
        }

        var url = request.Url ?? endpoint!.Url;
        if (url.StartsWith('/') ? baseUrl is null : !ServiceDefinitionRules.IsHttpUrl(url))
        {
            return Outcome<(string, Uri)>.Invalid("url", "url must be an absolute http(s) URL, or a path when the service has a base_url.");
        }
        var method = (request.Metodo ?? endpoint?.Metodo ?? "GET").ToUpperInvariant();
        if (method is not ("GET" or "POST" or "PUT" or "PATCH" or "DELETE" or "HEAD" or "OPTIONS"))
        {
            return Outcome<(string, Uri)>.Invalid("metodo", "metodo must be an HTTP method.");
        }
        return Outcome<(string, Uri)>.Ok((method, ServiceDefinitionRules.ResolveUrl(baseUrl, url)));
    }

    private async Task<Outcome<ServiceView>> ApplyAsync(ServiceDefinition d, ServiceCredentials? previous)
    {
        var credentials = RelevantTo(d.Auth.Type, d.Credentials is null ? previous ?? new ServiceCredentials() : d.Credentials.MergeOver(previous));
        if (ServiceDefinitionRules.Validate(d, credentials) is { } error)
        {
            return Outcome<ServiceView>.Invalid(error.Field, error.Message);
        }
        if (KeyenceConfigRules.Read(d.ConfigPadraoJson, keyence.Root).Error is { } keyenceError)
        {
            return Outcome<ServiceView>.Invalid(keyenceError.Field, keyenceError.Message);
        }

        var s = state.State;
        s.Exists = true;
        s.Nome = d.Nome;
        s.Tipo = d.Tipo;
        s.Descricao = d.Descricao;
        s.ConfigPadraoJson = d.ConfigPadraoJson;
        s.Auth = d.Auth;
        s.CredentialNames = [.. credentials.ConfiguredNames()];
        s.EncryptedCredentials = s.CredentialNames.Count == 0
            ? null
            : protector.Protect(JsonSerializer.Serialize(credentials));
        s.Endpoints = [.. d.Endpoints];
        s.HeadersPadrao = new Dictionary<string, string>(d.HeadersPadrao);
        s.RetryConfig = d.RetryConfig;
        s.Timeout = d.Timeout;
        s.Ativo = d.Ativo;
        s.UpdatedAt = time.GetUtcNow();
        var wasTotvs = s.Totvs;
        s.Totvs = TotvsSettings.IsTotvs(d.ConfigPadraoJson);
        await state.WriteStateAsync();
        await ConfigureTotvsAsync(wasTotvs);
        return Outcome<ServiceView>.Ok(ToView());
    }

    /// <summary>
    /// Hands a TOTVS service's connection to its sync grain (settings, the token user and the still
    /// encrypted credentials), or tells it the service stopped being one. Saving the service again
    /// repeats it, so a crash between the two writes is repaired by the next save.
    /// </summary>
    private async Task ConfigureTotvsAsync(bool wasTotvs)
    {
        var s = state.State;
        var totvs = GrainFactory.GetGrain<ITotvsSyncGrain>(this.GetPrimaryKeyLong());
        if (s.Totvs)
        {
            var settings = TotvsSettings.Read(s.ConfigPadraoJson).Settings!;
            await totvs.ConfigureAsync(new TotvsConnection(s.Instance, settings, s.Auth.Username ?? "", s.EncryptedCredentials, s.Timeout, s.Ativo));
        }
        else if (wasTotvs)
        {
            await totvs.RemoveAsync(s.Instance);
        }
    }

    /// <summary>Keeps only the credentials the auth type uses, so switching auth forgets old secrets.</summary>
    private static ServiceCredentials RelevantTo(string authType, ServiceCredentials c) => authType switch
    {
        AuthTypes.ApiKey => new ServiceCredentials(ApiKey: c.ApiKey),
        AuthTypes.Bearer => new ServiceCredentials(Token: c.Token),
        AuthTypes.Basic => new ServiceCredentials(Password: c.Password),
        AuthTypes.OAuth2ClientCredentials => new ServiceCredentials(ClientSecret: c.ClientSecret),
        _ => new ServiceCredentials(),
    };

    private ServiceCredentials? ReadCredentials() => state.State.EncryptedCredentials is { } encrypted
        ? JsonSerializer.Deserialize<ServiceCredentials>(protector.Unprotect(encrypted))
        : null;

    private bool Owns(string instance) => state.State.Exists && state.State.Instance == instance;

    private ServiceView ToView()
    {
        var s = state.State;
        return new ServiceView(
            this.GetPrimaryKeyLong(), s.Instance, s.Nome, s.Tipo, s.Descricao, s.ConfigPadraoJson, s.Auth,
            [.. s.CredentialNames], [.. s.Endpoints],
            new Dictionary<string, string>(s.HeadersPadrao), s.RetryConfig, s.Timeout, s.Ativo, s.CreatedAt, s.UpdatedAt);
    }
}
