using TwilioChannel.Web.Delivery;
using TwilioChannel.Web.History;

namespace TwilioChannel.Web.Admin;

internal static class AdminEndpoints
{
    public static IHostApplicationBuilder AddAdmin(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AdminKey>();
        // A field given twice is refused (Common/BindingProblems words it) instead of its last value silently winning.
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.AllowDuplicateProperties = false);
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
