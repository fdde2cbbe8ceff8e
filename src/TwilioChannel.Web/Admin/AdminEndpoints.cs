using TwilioChannel.Web.Delivery;
using TwilioChannel.Web.History;

namespace TwilioChannel.Web.Admin;

internal static class AdminEndpoints
{
    public static IHostApplicationBuilder AddAdmin(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AdminKey>();
        return builder;
    }

    public static WebApplication MapAdmin(this WebApplication app)
    {
        app.MapGroup("/api/admin")
            .AddEndpointFilter<AdminAuthFilter>()
            .AddEndpointFilter<UnknownFieldsWarning>()
            .MapTwilioAccounts()
            .MapInstallations()
            .MapNumbers()
            .MapMessages()
            .MapDeliveries()
            .MapBackfills();
        // Resolve the key now: on first start this generates it and logs where it was written.
        app.Services.GetRequiredService<AdminKey>();
        return app;
    }
}
