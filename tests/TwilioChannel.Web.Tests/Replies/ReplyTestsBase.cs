using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>
/// The setting the reply test classes share: the service on its own database, the fixtures' account, org and numbers
/// seeded, a fake Twilio, and a 10 s push budget.
/// </summary>
public abstract class ReplyTestsBase : IAsyncLifetime
{
    protected const string Ana = "whatsapp:+5511987654321";
    protected const string Bob = "+14155550123";

    // Named as the fields the tests used before they shared this base.
    protected readonly FakeTwilio _twilio = new();
    protected readonly ChannelApp _app;

    protected ReplyTestsBase(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["Twilio:ApiBaseUrl"] = _twilio.Url, ["Desk:PushTimeoutSeconds"] = "10" };
        foreach (var (key, value) in settings ?? []) all[key] = value;
        _app = new ChannelApp(settings: all);
    }

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync()
    {
        _app.Dispose();
        _twilio.Dispose();
        return Task.CompletedTask;
    }
}
