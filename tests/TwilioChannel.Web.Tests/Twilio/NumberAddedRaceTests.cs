using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>
/// A number added while messages for it are being routed from the number list as it was just before (Routing/NumberDirectory
/// keeps a snapshot; another instance's admin can't invalidate this one's). The clock is frozen, so the snapshot taken
/// before the add stays current for this instance: that makes the race deterministic.
/// </summary>
public sealed class NumberAddedRaceTests : IAsyncLifetime
{
    private const string NewNumber = "+14155550199";
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly ChannelApp _app;

    public NumberAddedRaceTests() => _app = new ChannelApp
    {
        ConfigureServices = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_time)),
    };

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    [Fact]
    public async Task AMessageStoredUnroutedFromTheListAsItWasBeforeAnotherInstanceAddedItsNumberIsRoutedAnyway()
    {
        var before = Fixtures.Sms("before the number was added", to: NewNumber);
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(before)).StatusCode);
        Assert.Equal([before["MessageSid"]], await UnroutedAsync()); // the directory now holds the list without the number

        await AddNumberAsAnotherInstanceAsync();

        // Planned from this instance's list without the number, stored after the other instance's transaction moved
        // the unrouted messages back to the router.
        var during = Fixtures.Sms("while the number was being added", to: NewNumber);
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(during)).StatusCode);

        await Eventually.UntilAsync(() => RoutedCountAsync().GetAwaiter().GetResult() == 2, "both messages routed",
            seen: () => string.Join(", ", UnroutedAsync().GetAwaiter().GetResult()) + " unrouted");
        Assert.Empty(await UnroutedAsync());
        using var pull = await _app.PullAsync();
        Assert.Equal(["before the number was added", "while the number was being added"],
            pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("content").GetString()));
    }

    /// <summary>What NumbersApi does on another instance: the number and the unrouted messages moved back, in one
    /// transaction; this instance's directory is not told.</summary>
    private async Task AddNumberAsAnotherInstanceAsync()
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        await using var tx = await db.Database.BeginTransactionAsync();
        db.Numbers.Add(new ChannelNumber
        {
            Address = NewNumber, Channel = MessagingChannel.Sms, AccountSid = Fixtures.AccountSid, OrgId = Fixtures.OrgId,
            CreatedAt = _time.GetUtcNow().UtcDateTime,
        });
        await db.SaveChangesAsync();
        await db.Messages.Where(m => m.State == MessageState.Unrouted && m.To == NewNumber)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.State, MessageState.Received));
        await tx.CommitAsync();
    }

    private async Task<string[]> UnroutedAsync() =>
        (await _app.Admin().GetFromJsonAsync<JsonElement[]>("/api/admin/messages?state=unrouted"))!.Select(m => m.GetProperty("messageSid").GetString()!).ToArray();

    private async Task<int> RoutedCountAsync()
    {
        await _app.RouteAsync(); // as the background router would, without waiting for its sweep
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        return await db.Messages.CountAsync(m => m.State == MessageState.Routed && m.To == NewNumber);
    }
}
