using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.History;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.History;

/// <summary>Twilio answering 404 to a number's message list (a number released at Twilio): said once, not every run.</summary>
public sealed class ReconcileNotFoundTests : IAsyncLifetime
{
    private const string NotFound = "answers 404 (not found) to the message list";

    private readonly FakeTwilio _twilio = new();
    private readonly ChannelApp _app;

    public ReconcileNotFoundTests() => _app = new ChannelApp(settings: new() { ["Twilio:ApiBaseUrl"] = _twilio.Url });

    public Task InitializeAsync() => _app.SeedAsync();

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _twilio.Dispose();
    }

    [Fact]
    public async Task AListTwilioDoesNotFindIsWarnedAboutOnceOverTwoRunsAndAgainOnlyAfterItListedInBetween()
    {
        var number = await _app.NumberIdAsync();
        _twilio.RefuseList(404);

        await RunAsync(number);
        await RunAsync(number);

        Assert.Equal(2, _twilio.Server.LogEntries.Count(e => e.RequestMessage.Method == "GET" && e.RequestMessage.Path == FakeTwilio.MessagesPath));
        Assert.Single(Lines("Warning", NotFound));
        // Not checked: the window stays for when Twilio lists the number again.
        Assert.Null(await ReconciledThroughAsync(number));

        _twilio.Server.ResetMappings();
        _twilio.ListMessages();
        await RunAsync(number);
        Assert.Single(Lines("Information", "Twilio lists its messages again"));
        Assert.NotNull(await ReconciledThroughAsync(number));

        _twilio.Server.ResetMappings();
        _twilio.RefuseList(404);
        await RunAsync(number);
        Assert.Equal(2, Lines("Warning", NotFound).Count);
    }

    /// <summary>A run as Hangfire starts it, on a fresh job (each run reads the number again).</summary>
    private Task RunAsync(long number) => _app.Services.GetRequiredService<ReconcileJob>().RunAsync(number, CancellationToken.None);

    private List<string> Lines(string level, string text) =>
        _app.Logs.Lines.Where(l => l.StartsWith(level + " ", StringComparison.Ordinal) && l.Contains(text, StringComparison.Ordinal)).ToList();

    private async Task<DateTime?> ReconciledThroughAsync(long number)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Numbers.AsNoTracking().SingleAsync(n => n.Id == number)).ReconciledThrough;
    }
}
