using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Twilio;

internal static class TwilioEndpoints
{
    public static IHostApplicationBuilder AddTwilioInbound(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AccountTokens>();
        builder.Services.AddSingleton<MediaTokens>();
        builder.Services.AddSingleton<InboxFile>();
        builder.Services.AddSingleton<InboundProjectorWakeup>();
        builder.Services.AddKeyedSingleton<WalDurability>(InboundInbox.Log, (sp, _) => new WalDurability(sp.GetRequiredService<ILogger<WalDurability>>()));
        builder.Services.AddSingleton<InboundInbox>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InboundInbox>());
        builder.Services.AddSingleton<InboundWriter>();
        builder.Services.AddSingleton<InboundProjector>();
        builder.Services.AddSingleton<UnprojectedCustomers>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InboundProjector>());
        builder.Services.AddSingleton<SignatureValidators>();
        builder.Services.AddScoped<TwilioSignatureFilter>();
        // Credentials only ever go to the Twilio API host, and never across a redirect: both clients follow none
        // automatically, the second one carries no credentials at all. MediaEndpoint bounds each download with
        // Twilio:MediaTimeoutSeconds (HttpClient.Timeout would not cover the body, and surfaces as an unhandled 500).
        builder.Services.AddHttpClient(MediaEndpoint.TwilioClient, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        builder.Services.AddHttpClient(MediaEndpoint.CdnClient, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        return builder;
    }

    public static WebApplication MapTwilio(this WebApplication app)
    {
        var twilio = app.MapGroup("/twilio").AddEndpointFilter<TwilioSignatureFilter>();
        twilio.MapPost("/messages", InboundWebhook.ReceiveAsync);
        // HEAD answers with the headers GET would send (a client checking type and size first), without the body.
        string[] getOrHead = [HttpMethods.Get, HttpMethods.Head];
        app.MapMethods("/media/{token}", getOrHead, MediaEndpoint.GetAsync);
        app.MapMethods("/media/out/{token}", getOrHead, MediaEndpoint.GetOutboundAsync);
        return app;
    }
}
