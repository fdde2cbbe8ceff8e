using System.Net;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>The copies of agents' attachments that Twilio fetched from us go once no URL to them can work.</summary>
public sealed class ReplyMediaCleanupTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new(settings: new() { ["Twilio:MediaUrlLifetime"] = "1.00:00:00" });

    public Task InitializeAsync() => _app.SeedAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<long> StoredFileAsync(TimeSpan age)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Web.Data.ChannelDbContext>();
        var file = new Web.Data.OutboundMedia
        {
            OrgId = Fixtures.OrgId, ReplyId = 1, FileName = "label.pdf", ContentType = "application/pdf",
            Content = new byte[64 * 1024], CreatedAt = DateTime.UtcNow - age,
        };
        db.OutboundMedia.Add(file);
        await db.SaveChangesAsync();
        return file.Id;
    }

    private Task<HttpResponseMessage> DownloadAsync(long id) =>
        _app.CreateClient().GetAsync("/media/out/" + _app.Services.GetRequiredService<Web.Twilio.MediaTokens>().CreateOutbound(id));

    [Fact]
    public async Task FilesPastTheirUrlLifetimeAndADayAreDroppedAndRecentOnesKept()
    {
        // Every file an agent sent stayed in the database for good, though Twilio reads it once, while it sends.
        var old = await Task.WhenAll(Enumerable.Range(0, 45).Select(_ => StoredFileAsync(TimeSpan.FromDays(3))));
        var recent = await StoredFileAsync(TimeSpan.FromHours(30)); // its URL expired, but within the day of margin

        Assert.Equal(45, await _app.Services.GetRequiredService<Web.Replies.ReplyMediaCleanup>().RunAsync(CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, (await DownloadAsync(old[0])).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await DownloadAsync(recent)).StatusCode);
        Assert.Equal(0, await _app.Services.GetRequiredService<Web.Replies.ReplyMediaCleanup>().RunAsync(CancellationToken.None));
    }

    [Fact]
    public async Task TheCleanupIsScheduledDaily()
    {
        var storage = _app.Services.GetRequiredService<JobStorage>();
        string? Cron()
        {
            using var connection = storage.GetConnection();
            return Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection).SingleOrDefault(j => j.Id == Web.Replies.ReplyMediaCleanup.JobId)?.Cron;
        }
        await Eventually.UntilAsync(() => Cron() is not null, "the daily cleanup to be registered");
        Assert.Equal("0 0 * * *", Cron());
    }
}
