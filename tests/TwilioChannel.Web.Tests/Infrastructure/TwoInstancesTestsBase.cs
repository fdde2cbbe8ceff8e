namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>
/// Two hosts on one data folder (one database, one inbox), as two instances of the service: <see cref="First"/> is
/// seeded (account, installation, numbers), <see cref="Second"/> starts on the same folder afterwards.
/// </summary>
public abstract class TwoInstancesTestsBase : IAsyncLifetime
{
    protected ChannelApp First { get; } = new();
    protected ChannelApp Second { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await First.SeedAsync();
        Second = new ChannelApp(First.DataPath);
    }

    public Task DisposeAsync()
    {
        Second.Dispose();
        First.Dispose();
        return Task.CompletedTask;
    }
}
