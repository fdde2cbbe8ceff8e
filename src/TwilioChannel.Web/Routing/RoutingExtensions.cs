namespace TwilioChannel.Web.Routing;

internal static class RoutingExtensions
{
    public static IHostApplicationBuilder AddRouting(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RouterWakeup>();
        builder.Services.AddSingleton<FeedWakeup>();
        builder.Services.AddSingleton<NumberDirectory>();
        builder.Services.AddSingleton<UnroutedRecheck>();
        builder.Services.AddSingleton<MessageRouter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MessageRouter>());
        return builder;
    }
}
