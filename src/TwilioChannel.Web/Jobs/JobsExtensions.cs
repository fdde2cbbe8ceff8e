using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.InMemory;
using Hangfire.Storage.SQLite;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Jobs;

/// <summary>
/// Hangfire for backfills, reconciliation and retries — never for the per-message path (an enqueue costs more than the
/// message, ../shared/STACK.md). Storage: its own SQLite file in the data folder by default, same zero-configuration
/// start as the channel database.
/// </summary>
internal static class JobsExtensions
{
    public static IHostApplicationBuilder AddJobs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<JobsOptions>().Bind(builder.Configuration.GetSection(JobsOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        // The storage is this host's own singleton, registered before AddHangfire: AddHangfire would hand out the
        // process-wide JobStorage.Current, which hosts starting side by side in one process (the tests) overwrite,
        // so one host's server could run another host's jobs against the wrong database.
        builder.Services.AddSingleton<JobStorage>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
            if (options.Storage == "InMemory") return new InMemoryStorage(new InMemoryStorageOptions());
            var file = Path.Combine(sp.GetRequiredService<DataPaths>().Root, "hangfire.db");
            return new SQLiteStorage(file, new SQLiteStorageOptions { QueuePollInterval = TimeSpan.FromMilliseconds(options.PollIntervalMilliseconds) });
        });
        // The same for the activator: AddHangfire hands out JobActivator.Current, which each host sets to its own as it
        // resolves Hangfire's configuration. A host that read it after another host's start ran its jobs with that
        // host's services, and failed every run ("disposed IServiceProvider") once that host stopped.
        builder.Services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        builder.Services.AddHangfire((sp, config) => config.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseLogProvider(new HostLogProvider(sp.GetRequiredService<ILoggerFactory>())));
        // For the dashboard's commands (DashboardAntiforgery); Hangfire.AspNetCore uses it once it is registered. The
        // antiforgery middleware .NET adds with it validates only endpoints that bind a form: none of ours do (the Twilio
        // webhooks read theirs in a filter, Desk posts JSON), so it changes nothing else.
        builder.Services.AddAntiforgery();
        builder.Services.AddHangfireServer((sp, server) =>
        {
            server.WorkerCount = sp.GetRequiredService<IOptions<JobsOptions>>().Value.WorkerCount;
            server.SchedulePollingInterval = TimeSpan.FromSeconds(5);
            server.Queues = ["backfill", "reconcile", "default"];
        });
        return builder;
    }

    public static WebApplication MapJobsDashboard(this WebApplication app)
    {
        app.UseDashboardBasicAuth();
        app.UseDashboardForms();
        app.UseDashboardAntiforgery();
        app.UseDashboardJobIds();
        // Scripts with the key as a Bearer token get a mount without Hangfire's antiforgery check (DashboardAntiforgery
        // says why they need none); the predicate includes the path, so the admin API's Bearer requests pass by.
        app.MapWhen(DashboardAntiforgery.IsExempt, scripts => scripts.UseHangfireDashboard(DashboardAuthorization.Path, Dashboard(ignoreAntiforgeryToken: true)));
        app.UseHangfireDashboard(DashboardAuthorization.Path, Dashboard(ignoreAntiforgeryToken: false));
        return app;
    }

    private static DashboardOptions Dashboard(bool ignoreAntiforgeryToken) => new()
    {
        Authorization = [new DashboardAuthorization.Filter()],
        DashboardTitle = "TwilioChannel jobs",
        AppPath = null,
        IgnoreAntiforgeryToken = ignoreAntiforgeryToken,
    };
}
