using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Jobs;

public sealed class JobStorageTests
{
    [Fact]
    public async Task HostsStartedSideBySideEachKeepTheirOwnJobStorage()
    {
        // Hangfire's JobStorage.Current is process-wide: hosts starting in parallel used to overwrite it and run each
        // other's jobs (a backfill "queued" forever in one host, run against the other host's database).
        using var first = new ChannelApp();
        using var second = new ChannelApp();
        await Task.WhenAll(Task.Run(() => first.CreateClient()), Task.Run(() => second.CreateClient()));

        var firstStorage = first.Services.GetRequiredService<JobStorage>();
        var secondStorage = second.Services.GetRequiredService<JobStorage>();
        Assert.NotSame(firstStorage, secondStorage);

        var jobId = first.Services.GetRequiredService<IBackgroundJobClient>().Schedule(() => Console.WriteLine("first host only"), TimeSpan.FromHours(1));
        Assert.NotNull(firstStorage.GetMonitoringApi().JobDetails(jobId));
        Assert.Equal(1, firstStorage.GetMonitoringApi().ScheduledCount());
        Assert.Equal(0, secondStorage.GetMonitoringApi().ScheduledCount());
    }
}
