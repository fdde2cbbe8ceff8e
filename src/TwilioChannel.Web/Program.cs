using TwilioChannel.Web.Admin;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Delivery;
using TwilioChannel.Web.Desk;
using TwilioChannel.Web.Health;
using TwilioChannel.Web.History;
using TwilioChannel.Web.Jobs;
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
builder.AddDeskDelivery();
builder.AddJobs();
builder.AddHistory();
builder.AddAdmin();

var app = builder.Build();

await app.MigrateDatabaseAsync();

app.UseHostingHygiene();

app.MapChannelHealth();
app.MapTwilio();
app.MapDesk();
app.MapReplies();
app.MapAdmin();
app.MapJobsDashboard();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
