namespace Integracoes.IntegrationTests;

[Alias("Integracoes.IntegrationTests.IReminderProbeGrain")]
public interface IReminderProbeGrain : IGrainWithStringKey
{
    [Alias("Register")] Task RegisterAsync(string name);
    [Alias("Unregister")] Task UnregisterAsync(string name);
    [Alias("Names")] Task<List<string>> NamesAsync();
}

/// <summary>Exercises the ADO.NET reminder table (sql/0004) through the real reminder service.</summary>
public sealed class ReminderProbeGrain : Grain, IReminderProbeGrain, IRemindable
{
    public Task RegisterAsync(string name) =>
        this.RegisterOrUpdateReminder(name, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10));

    public async Task UnregisterAsync(string name)
    {
        var reminder = await this.GetReminder(name);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public async Task<List<string>> NamesAsync() => [.. (await this.GetReminders()).Select(r => r.ReminderName).Order()];

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}

[Collection(ClusterCollection.Name)]
public sealed class ReminderTableTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Reminders_are_stored_listed_and_removed_in_postgresql()
    {
        var grain = fixture.Grains.GetGrain<IReminderProbeGrain>("probe");

        await grain.RegisterAsync("alpha");
        await grain.RegisterAsync("beta");
        var both = await grain.NamesAsync();
        var rowsAfterRegister = await fixture.ScalarAsync<long>("SELECT count(*) FROM OrleansRemindersTable WHERE GrainId LIKE '%probe%'");
        await grain.UnregisterAsync("alpha");
        var remaining = await grain.NamesAsync();
        var rowsAfterUnregister = await fixture.ScalarAsync<long>("SELECT count(*) FROM OrleansRemindersTable WHERE GrainId LIKE '%probe%'");

        Assert.Equal(["alpha", "beta"], both);
        Assert.Equal(2, rowsAfterRegister);
        Assert.Equal(["beta"], remaining);
        Assert.Equal(1, rowsAfterUnregister);
    }
}
