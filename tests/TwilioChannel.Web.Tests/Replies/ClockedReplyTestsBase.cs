using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>
/// The reply tests that move time (the WhatsApp window, template resends, a new ticket after silence): the service on
/// its own database reading a FakeTimeProvider, and a fake Twilio. Each class seeds what it needs in InitializeAsync.
/// </summary>
public abstract class ClockedReplyTestsBase : IAsyncLifetime
{
    protected readonly FakeTwilio _twilio = new();
    protected readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    protected readonly ChannelApp _app;

    /// <param name="settings">Configuration beside Twilio:ApiBaseUrl (the fake's).</param>
    protected ClockedReplyTestsBase(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? []) { ["Twilio:ApiBaseUrl"] = _twilio.Url };
        _app = new ChannelApp(settings: all)
        {
            ConfigureServices = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_time)),
        };
    }

    public abstract Task InitializeAsync();

    public Task DisposeAsync()
    {
        _app.Dispose();
        _twilio.Dispose();
        return Task.CompletedTask;
    }
}
