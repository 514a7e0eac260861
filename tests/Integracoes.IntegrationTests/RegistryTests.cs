using Integracoes.Abstractions.Common;
using Integracoes.Abstractions.Services;

namespace Integracoes.IntegrationTests;

[Collection(ClusterCollection.Name)]
public sealed class RegistryTests(ClusterFixture fixture)
{
    private IServiceRegistryGrain Registry(string instance) => fixture.Grains.GetGrain<IServiceRegistryGrain>(instance);

    [Fact]
    public async Task A_created_service_reads_back_with_every_field_and_no_credential_values()
    {
        var definition = Definitions.Api("erp-totvs", tipo: "erp", baseUrl: "https://totvs.example.com/api",
            auth: new ServiceAuth(AuthTypes.Bearer), credentials: new ServiceCredentials(Token: "tok-123"),
            endpoints: [new ServiceEndpoint("ordens", "GET", "/ordens-producao")]);

        var created = await Registry("reg-a").CreateAsync(definition);

        Assert.Equal(OutcomeStatus.Ok, created.Status);
        var view = await fixture.Grains.GetGrain<IIntegrationServiceGrain>(created.Value!.Id).GetAsync("reg-a");
        Assert.NotNull(view);
        Assert.Equal("erp-totvs", view.Nome);
        Assert.Equal("erp", view.Tipo);
        Assert.Equal(["token"], view.CredenciaisConfiguradas);
        Assert.Equal("/ordens-producao", view.Endpoints.Single().Url);
        Assert.Equal("yes", view.HeadersPadrao["X-Default"]);
        Assert.DoesNotContain("tok-123", System.Text.Json.JsonSerializer.Serialize(view));
    }

    [Fact]
    public async Task Names_are_unique_per_instance_but_not_across_instances()
    {
        Assert.True((await Registry("reg-b").CreateAsync(Definitions.Api("crm"))).IsOk);

        var duplicate = await Registry("reg-b").CreateAsync(Definitions.Api("CRM"));
        var otherInstance = await Registry("reg-c").CreateAsync(Definitions.Api("crm"));

        Assert.Equal(OutcomeStatus.Conflict, duplicate.Status);
        Assert.Equal("nome", duplicate.Field);
        Assert.True(otherInstance.IsOk);
    }

    [Fact]
    public async Task Renaming_onto_an_existing_name_is_a_conflict()
    {
        var first = await Registry("reg-d").CreateAsync(Definitions.Api("one"));
        await Registry("reg-d").CreateAsync(Definitions.Api("two"));

        var renamed = await Registry("reg-d").UpdateAsync(first.Value!.Id, Definitions.Api("two"));

        Assert.Equal(OutcomeStatus.Conflict, renamed.Status);
    }

    [Fact]
    public async Task Another_instance_cannot_see_update_or_delete_a_service()
    {
        var created = await Registry("reg-e").CreateAsync(Definitions.Api("private"));
        var id = created.Value!.Id;
        var grain = fixture.Grains.GetGrain<IIntegrationServiceGrain>(id);

        Assert.Null(await grain.GetAsync("intruder"));
        Assert.Equal(OutcomeStatus.NotFound, (await Registry("intruder").UpdateAsync(id, Definitions.Api("x"))).Status);
        Assert.False(await Registry("intruder").DeleteAsync(id));
        Assert.NotNull(await grain.GetAsync("reg-e"));
    }

    [Fact]
    public async Task Listing_filters_by_tipo_and_ativo_and_pages()
    {
        var registry = Registry("reg-f");
        await registry.CreateAsync(Definitions.Api("a1", tipo: "api"));
        await registry.CreateAsync(Definitions.Api("a2", tipo: "api", ativo: false));
        await registry.CreateAsync(Definitions.Api("b1", tipo: "banco"));

        var apis = await registry.ListAsync(new ServiceFilter("api", null, 50, 0));
        var inactive = await registry.ListAsync(new ServiceFilter(null, false, 50, 0));
        var firstPage = await registry.ListAsync(new ServiceFilter(null, null, 2, 0));
        var secondPage = await registry.ListAsync(new ServiceFilter(null, null, 2, 2));

        Assert.Equal(["a1", "a2"], apis.Results.Select(s => s.Nome).Order());
        Assert.Equal(["a2"], inactive.Results.Select(s => s.Nome));
        Assert.Equal(3, firstPage.Count);
        Assert.Equal(2, firstPage.Results.Count);
        Assert.Single(secondPage.Results);
    }

    [Fact]
    public async Task Deleting_frees_the_name_and_the_service_is_gone()
    {
        var created = await Registry("reg-g").CreateAsync(Definitions.Api("temp"));

        Assert.True(await Registry("reg-g").DeleteAsync(created.Value!.Id));

        Assert.Null(await fixture.Grains.GetGrain<IIntegrationServiceGrain>(created.Value.Id).GetAsync("reg-g"));
        Assert.True((await Registry("reg-g").CreateAsync(Definitions.Api("temp"))).IsOk);
    }

    [Fact]
    public async Task Invalid_definitions_name_the_field_at_fault()
    {
        var unknownTipo = await Registry("reg-h").CreateAsync(Definitions.Api("x", tipo: "planilha"));
        var missingToken = await Registry("reg-h").CreateAsync(Definitions.Api("y", auth: new ServiceAuth(AuthTypes.Bearer)));
        var relativeWithoutBase = await Registry("reg-h").CreateAsync(Definitions.Api("z", endpoints: [new ServiceEndpoint("e", "GET", "/x")]));

        Assert.Equal(("tipo", OutcomeStatus.Invalid), (unknownTipo.Field, unknownTipo.Status));
        Assert.Equal("auth.token", missingToken.Field);
        Assert.Equal("endpoints[0].url", relativeWithoutBase.Field);
    }

    [Fact]
    public async Task Updating_without_credentials_keeps_them_and_changing_auth_type_drops_them()
    {
        var registry = Registry("reg-i");
        var created = await registry.CreateAsync(Definitions.Api("keep",
            auth: new ServiceAuth(AuthTypes.ApiKey, HeaderName: "X-Key"), credentials: new ServiceCredentials(ApiKey: "k1")));
        var id = created.Value!.Id;

        var kept = await registry.UpdateAsync(id, Definitions.Api("keep", auth: new ServiceAuth(AuthTypes.ApiKey, HeaderName: "X-Key")));
        var switched = await registry.UpdateAsync(id, Definitions.Api("keep", auth: ServiceAuth.None));

        Assert.Equal(["api_key"], kept.Value!.CredenciaisConfiguradas);
        Assert.Empty(switched.Value!.CredenciaisConfiguradas);
    }

    [Fact]
    public async Task The_number_of_services_per_instance_is_bounded()
    {
        var registry = Registry("reg-j");
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await registry.CreateAsync(Definitions.Api($"s{i}"))).IsOk);
        }

        var sixth = await registry.CreateAsync(Definitions.Api("s5"));

        Assert.Equal(OutcomeStatus.Conflict, sixth.Status);
    }

    [Fact]
    public async Task A_service_survives_deactivation_because_its_state_is_in_postgresql()
    {
        var created = await Registry("reg-k").CreateAsync(Definitions.Api("durable", descricao: "kept"));
        var grain = fixture.Grains.GetGrain<IIntegrationServiceGrain>(created.Value!.Id);

        await fixture.Cluster.DeactivateAsync(grain);
        var reread = await grain.GetAsync("reg-k");

        Assert.Equal("durable", reread!.Nome);
    }
}
