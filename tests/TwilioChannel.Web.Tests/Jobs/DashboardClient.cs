using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Jobs;

/// <summary>The dashboard as a browser uses it: Basic auth with the admin key, and for commands the antiforgery token
/// of a dashboard page in the header Hangfire's script sends it in, with the cookie that page set (the test server's
/// clients keep cookies).</summary>
internal static partial class DashboardClient
{
    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    /// <summary>Signed in, holding no token yet.</summary>
    public static HttpClient BasicClient(this ChannelApp app)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = Basic("admin", ChannelApp.AdminKey);
        return client;
    }

    /// <summary>Signed in, having opened a dashboard page: its commands go through.</summary>
    public static async Task<HttpClient> SignedInAsync(this ChannelApp app)
    {
        var client = app.BasicClient();
        var (header, token) = await client.PageTokenAsync();
        client.DefaultRequestHeaders.Add(header, token);
        return client;
    }

    /// <summary>Opens a dashboard page (which sets the antiforgery cookie) and reads the token from its layout, as
    /// Hangfire's script does: meta csrf-header names the header, meta csrf-token holds the token.</summary>
    public static async Task<(string Header, string Token)> PageTokenAsync(this HttpClient client, string page = "/admin/jobs")
    {
        var html = await client.GetStringAsync(page);
        return (Meta(html, "csrf-header"), Meta(html, "csrf-token"));
    }

    private static string Meta(string html, string name) =>
        Metas().Matches(html).FirstOrDefault(m => m.Groups["name"].Value == name)?.Groups["content"].Value
        ?? throw new InvalidOperationException($"The dashboard page has no meta {name}.");

    [GeneratedRegex("""<meta name="(?<name>[^"]*)" content="(?<content>[^"]*)">""")]
    private static partial Regex Metas();
}
