using TwilioChannel.Web.Desk;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Replies;

internal static class ReplyEndpoints
{
    public static IHostApplicationBuilder AddReplies(this IHostApplicationBuilder builder)
    {
        TwilioApiClients.Register(builder.Services);
        builder.Services.AddSingleton<StatusStore>();
        builder.Services.AddSingleton<ReplyStatusFeed>();
        builder.Services.AddSingleton<TemplateInvites>();
        builder.Services.AddTransient<UnclaimedStatusCleanup>();
        builder.Services.AddTransient<ReplyMediaCleanup>();
        builder.Services.AddScoped<ReplySender>();
        builder.Services.AddScoped<ReplyService>();
        builder.Services.AddHttpClient<ZohoOAuth>(c => c.Timeout = TimeSpan.FromSeconds(10));
        // No automatic redirects: the OAuth token must never follow one to another host.
        builder.Services.AddHttpClient<DeskAttachments>(c => c.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        return builder;
    }

    public static WebApplication MapReplies(this WebApplication app)
    {
        app.MapPost("/desk/push", PushEndpoint.PushAsync).AddEndpointFilter<DeskCallerFilter>();
        app.MapPost("/twilio/status", StatusCallback.ReceiveAsync).AddEndpointFilter<TwilioSignatureFilter>();
        return app;
    }
}
