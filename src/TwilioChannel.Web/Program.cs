using TwilioChannel.Web.Admin;
using TwilioChannel.Web.Common;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Desk;
using TwilioChannel.Web.Health;
using TwilioChannel.Web.Replies;
using TwilioChannel.Web.Routing;
using TwilioChannel.Web.Secrets;
using TwilioChannel.Web.Twilio;

var builder = WebApplication.CreateBuilder(args);

builder.AddRootAppSettings();
builder.AddChannelOptions();
builder.AddHostingHygiene();
builder.AddChannelData();
builder.AddSecrets();
builder.AddChannelHealth();
builder.AddTwilioInbound();
builder.AddRouting();
builder.AddDesk();
builder.AddReplies();
builder.AddAdmin();
builder.Services.AddSingleton<PublicUrls>();

var app = builder.Build();

await app.MigrateDatabaseAsync();

app.UseExceptionHandler(new ExceptionHandlerOptions
{
    // A client's fault (body too large, malformed form) keeps its 4xx status; only our own failures are 500s.
    StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
    SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException,
});
app.UseStatusCodePages();
app.UseMiddleware<RequestBodyLimit>();

app.MapChannelHealth();
app.MapTwilio();
app.MapDesk();
app.MapReplies();
app.MapAdmin();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
