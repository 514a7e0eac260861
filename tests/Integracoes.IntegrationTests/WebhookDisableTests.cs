using Integracoes.Abstractions.Events;
using Integracoes.Abstractions.Webhooks;
using Integracoes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Integracoes.IntegrationTests;

[Collection(ClusterCollection.Name)]
public sealed class WebhookDisableTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_subscription_failing_continuously_for_the_configured_time_is_disabled_and_says_why()
    {
        await using var receiver = await LocalHttpServer.StartAsync(app =>
        {
            app.MapPost("/down", () => Results.StatusCode(503));
            app.MapPost("/ops", () => Results.Ok());
        });
        var registry = fixture.Grains.GetGrain<IWebhookRegistryGrain>("disable-test");
        var created = await registry.CreateAsync(new WebhookDefinition("down", receiver.Url("/down"), ["nfe_importada"], true,
            new Dictionary<string, string>(), 5, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], null, 1, null));
        await registry.CreateAsync(new WebhookDefinition("ops", receiver.Url("/ops"), [EventCatalog.WebhookDisabled], true,
            new Dictionary<string, string>(), 5, [0], null, 1, null));
        var subscription = fixture.Grains.GetGrain<IWebhookSubscriptionGrain>(created.Value!.Webhook.Id);

        var published = await fixture.Grains.GetGrain<IEventPublisherGrain>("disable-test").PublishAsync(new PublishRequest("nfe_importada", "{}", null));
        var disabled = await Eventually.GetAsync(async () => await subscription.GetAsync("disable-test") is { Ativo: false } view ? view : null,
            TimeSpan.FromSeconds(30), "the subscription to disable itself");
        var alarm = await Eventually.GetAsync(() => Task.FromResult(receiver.Requests.FirstOrDefault(r => r.Path == "/ops")),
            TimeSpan.FromSeconds(30), "webhook.desativado");

        Assert.Equal(1, published.Value!.Entregas);
        Assert.StartsWith("falhas contínuas", disabled.MotivoDesativacao);
        Assert.Contains(created.Value.Webhook.Id.ToString(), alarm.Body);
        Assert.Empty(await registry.MatchAsync("nfe_importada"));
    }
}
