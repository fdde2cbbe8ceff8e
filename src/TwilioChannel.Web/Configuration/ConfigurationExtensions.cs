using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Options;

namespace TwilioChannel.Web.Configuration;

internal static class ConfigurationExtensions
{
    /// <summary>
    /// appsettings.json lives at the repository root (beside resource.json) and is copied next to the binaries, while
    /// `dotnet run` uses the project folder as content root. Load the copied file in the place of the missing one, so
    /// environment variables and command-line arguments still override it.
    /// </summary>
    public static IHostApplicationBuilder AddRootAppSettings(this IHostApplicationBuilder builder)
    {
        if (File.Exists(Path.Combine(builder.Environment.ContentRootPath, "appsettings.json"))) return builder;
        var sources = builder.Configuration.Sources;
        var index = sources.ToList().FindIndex(s => s is JsonConfigurationSource { Path: "appsettings.json" });
        if (index < 0) return builder;
        var source = new JsonConfigurationSource
        {
            Path = "appsettings.json",
            Optional = true,
            ReloadOnChange = false,
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
        };
        sources.Insert(index + 1, source);
        return builder;
    }

    /// <summary>Binds every options class and validates on start: a bad setting stops the service, not the first webhook.</summary>
    public static IHostApplicationBuilder AddChannelOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChannelOptions>().Bind(builder.Configuration).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<TwilioApiOptions>().BindConfiguration(TwilioApiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<DeskOptions>().BindConfiguration(DeskOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<InboundOptions>().BindConfiguration(InboundOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>
    /// Internet-facing hygiene: bounded bodies, Problem Details instead of stack traces, and no request URLs in the
    /// logs — Desk's pull and push carry the securityContext in the query string, and ASP.NET's hosting diagnostics
    /// log the full URL of every request at Information.
    /// </summary>
    public static IHostApplicationBuilder AddHostingHygiene(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing.EndpointMiddleware", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Http.Result", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Http.HttpResults", LogLevel.Warning);
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            Common.BindingProblems.Customize(context);
            // Desk shows an extension's {"message"} to the agent (a failed reply's reason); Problem Details have none.
            if (context.HttpContext.Request.Path.StartsWithSegments("/desk"))
                context.ProblemDetails.Extensions["message"] = context.ProblemDetails.Detail ?? context.ProblemDetails.Title;
        });
        // A request minimal APIs can't bind throws, so that Common/BindingProblems can say what was wrong with it.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = true);
        builder.Services.AddMemoryCache();
        builder.Services.AddSingleton<Common.PublicUrls>();
        builder.Services.AddSingleton<Common.RefusalLog>();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<ChannelOptions>>((kestrel, channel) =>
        {
            kestrel.Limits.MaxRequestBodySize = channel.Value.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.AddServerHeader = false;
        });
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(form =>
        {
            // Twilio posts a few dozen fields; a Body is at most 1600 characters.
            form.ValueCountLimit = 200;
            form.ValueLengthLimit = 64 * 1024;
            form.KeyLengthLimit = 256;
            form.MultipartBodyLengthLimit = 1024 * 1024;
        });
        return builder;
    }

    /// <summary>Problem Details for every error, 4xx kept for a client's fault, bounded bodies for every host.</summary>
    public static WebApplication UseHostingHygiene(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A client's fault (body too large, malformed form) keeps its 4xx status and isn't logged as our error.
            StatusCodeSelector = ex => ex is Microsoft.AspNetCore.Http.BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
            SuppressDiagnosticsCallback = context => context.Exception is Microsoft.AspNetCore.Http.BadHttpRequestException,
        });
        app.UseStatusCodePages();
        app.UseMiddleware<Common.RequestBodyLimit>();
        return app;
    }
}
