using Hangfire;
using Hangfire.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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

    [Fact]
    public async Task AHostRunsItsJobsWithItsOwnServicesEvenWhenAnotherHostReplacedTheProcessWideActivatorAsItStarted()
    {
        // Hangfire's JobActivator.Current is process-wide too, and AddHangfire hands it out as the server's activator.
        // When another host set it between this host's configuration and its server's start, this host ran every job
        // with the other host's services; once that host was disposed, each run failed with "Cannot access a disposed
        // object: IServiceProvider" and a backfill retried for hours (seen in a clean-clone CI run). The hosted
        // service below replays that interleaving: it is created before Hangfire's server and swaps in the activator
        // of a disposed host.
        var previous = JobActivator.Current;
        var probe = new Probe();
        await using var app = new ChannelApp
        {
            ConfigureServices = services =>
            {
                services.AddSingleton(probe);
                services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp =>
                {
                    sp.GetRequiredService<IGlobalConfiguration>();
                    JobActivator.Current = DisposedHostActivator();
                    return new Interleaving();
                }));
            },
        };
        try
        {
            app.CreateClient().Dispose();
            var jobId = app.Services.GetRequiredService<IBackgroundJobClient>().Enqueue<ProbeJob>(job => job.Run("ran in its own host"));
            var finished = await Task.WhenAny(probe.Ran.Task, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(finished == probe.Ran.Task, "the job did not run with its host's services within 30 s: " + string.Join(" → ",
                app.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(jobId).History.Select(h => $"{h.StateName} {h.Reason}")));
            Assert.Equal("ran in its own host", await probe.Ran.Task);
        }
        finally
        {
            JobActivator.Current = previous;
        }
    }

    [Fact]
    public async Task HangfiresProcessWideLoggingStillWorksAfterTheHostThatSetItStopped()
    {
        // Hangfire's log provider is process-wide too, and each host sets it to one on its own ILoggerFactory. Hangfire
        // creates some loggers late (e.g. a job's [AutomaticRetry] the first time it is read); from a stopped host's
        // factory that threw ObjectDisposedException, failing another host's job.
        var app = new ChannelApp();
        app.CreateClient().Dispose();
        await app.DisposeAsync();

        // Whichever host's provider is current now (tests run in parallel), creating and using a logger must work.
        var failure = Record.Exception(() => Hangfire.Logging.LogProvider.GetLogger("TwilioChannel.Tests.Late").Log(Hangfire.Logging.LogLevel.Warn, () => "a late logger's line"));
        Assert.Null(failure);
    }

    private static JobActivator DisposedHostActivator()
    {
        var provider = new ServiceCollection().BuildServiceProvider();
        var activator = new AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>());
        provider.Dispose();
        return activator;
    }

    public sealed class Probe
    {
        public TaskCompletionSource<string> Ran { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed class ProbeJob(Probe probe)
    {
        public void Run(string message) => probe.Ran.TrySetResult(message);
    }

    private sealed class Interleaving : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
