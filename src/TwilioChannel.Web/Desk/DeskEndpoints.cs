namespace TwilioChannel.Web.Desk;

internal static class DeskEndpoints
{
    public static IHostApplicationBuilder AddDesk(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DeskCallers>();
        builder.Services.AddScoped<DeskCallerFilter>();
        builder.Services.AddScoped<PullFeed>();
        return builder;
    }

    public static WebApplication MapDesk(this WebApplication app)
    {
        var desk = app.MapGroup("/desk");
        desk.MapPost("/events", DeskEvents.ReceiveAsync);
        var calls = desk.MapGroup("").AddEndpointFilter<DeskCallerFilter>();
        calls.MapPost("/pull", PullEndpoint.PullAsync);
        return app;
    }
}
