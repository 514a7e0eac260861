using Integracoes.Abstractions.Common;
using Orleans.Concurrency;

namespace Integracoes.Abstractions.Services;

/// <summary>
/// One registered integration service, keyed by its numeric id. Created, renamed and deleted only
/// through its instance's <see cref="IServiceRegistryGrain"/>, which keeps names unique.
/// </summary>
[Alias("Integracoes.IIntegrationServiceGrain")]
public interface IIntegrationServiceGrain : IGrainWithIntegerKey
{
    [Alias("Initialize")]
    Task<Outcome<ServiceView>> InitializeAsync(string instance, ServiceDefinition definition);

    [Alias("Update")]
    Task<Outcome<ServiceView>> UpdateAsync(string instance, ServiceDefinition definition);

    [Alias("Delete")]
    Task<bool> DeleteAsync(string instance);

    /// <summary>The service, or null when it does not exist or belongs to another instance.</summary>
    [Alias("Get"), ReadOnly]
    Task<ServiceView?> GetAsync(string instance);

    /// <summary>Calls one endpoint with the service's auth, headers and timeout and records an execution.</summary>
    [Alias("Test"), ReadOnly]
    Task<Outcome<ExecutionView>> TestAsync(string instance, ServiceTestRequest request);
}

/// <summary>The services of one instance, keyed by instance name: owns name uniqueness and the listing index.</summary>
[Alias("Integracoes.IServiceRegistryGrain")]
public interface IServiceRegistryGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task<Outcome<ServiceView>> CreateAsync(ServiceDefinition definition);

    [Alias("Update")]
    Task<Outcome<ServiceView>> UpdateAsync(long id, ServiceDefinition definition);

    [Alias("Delete")]
    Task<bool> DeleteAsync(long id);

    [Alias("List"), ReadOnly]
    Task<Page<ServiceView>> ListAsync(ServiceFilter filter);
}
