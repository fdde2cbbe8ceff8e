using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TwilioChannel.Bench;

/// <summary>The in-process servers of the bench (baselines, fake Twilio, fake Desk): Kestrel on 127.0.0.1 only, no
/// logging below warnings, no Server header.</summary>
internal static class LoopbackHost
{
    public static WebApplicationBuilder CreateBuilder(int port, Action<KestrelServerOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.AddServerHeader = false;
            configure?.Invoke(kestrel);
        });
        return builder;
    }
}
