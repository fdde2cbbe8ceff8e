using TwilioChannel.Web.Desk;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Replies;

internal static class ReplyEndpoints
{
    public static IHostApplicationBuilder AddReplies(this IHostApplicationBuilder builder)
    {
        TwilioApiClients.Register(builder.Services);
        builder.Services.AddSingleton<StatusStore>();
        builder.Services.AddScoped<ReplySender>();
        builder.Services.AddScoped<ReplyService>();
        return builder;
    }

    public static WebApplication MapReplies(this WebApplication app)
    {
        app.MapPost("/desk/push", PushEndpoint.PushAsync).AddEndpointFilter<DeskCallerFilter>();
        app.MapPost("/twilio/status", StatusCallback.ReceiveAsync).AddEndpointFilter<TwilioSignatureFilter>();
        return app;
    }
}
