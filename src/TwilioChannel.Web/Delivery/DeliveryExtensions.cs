using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;

namespace TwilioChannel.Web.Delivery;

internal static class DeliveryExtensions
{
    public static IHostApplicationBuilder AddDeskDelivery(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DeliveryInstance>();
        builder.Services.AddSingleton<DeliveryStore>();
        builder.Services.AddSingleton<OrgDelivery>();
        builder.Services.AddSingleton<DeskDelivery>();
        builder.Services.AddTransient<DeliveryRetryJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeskDelivery>());
        // No resilience handler: the delivery loop owns retries (order, backoff, parking), and a blind retry of a
        // timed-out import could deliver a batch twice.
        builder.Services.AddHttpClient<DeskInvokeClient>((sp, http) =>
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<DeskOptions>>().Value.ImportTimeoutSeconds));
        return builder;
    }
}
