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

    /// <param name="settings">Configuration beside Twilio:ApiBaseUrl (the fake's) and the push budget, as in ClockedReplyTestsBase.</param>
    protected ReplyTestsBase(Dictionary<string, string?>? settings = null) =>
        _app = new ChannelApp(settings: new Dictionary<string, string?>(settings ?? []) { ["Twilio:ApiBaseUrl"] = _twilio.Url, ["Desk:PushTimeoutSeconds"] = "10" });

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync()
    {
        _app.Dispose();
        _twilio.Dispose();
        return Task.CompletedTask;
    }
}
