using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests;

public sealed class RestartTests
{
    [Fact]
    public async Task ARestartOnTheSameDataFolderKeepsMessagesSecretsAndTheCursor()
    {
        string dataPath;
        string state;
        using (var before = new ChannelApp())
        {
            dataPath = before.DataPath;
            await before.SeedAsync();
            for (var i = 0; i < 3; i++) (await before.PostInboundAsync(Fixtures.WhatsApp($"before restart {i}"))).EnsureSuccessStatusCode();
            await before.RouteAsync();
            using var pull = await before.PullAsync();
            Assert.Equal(3, pull.RootElement.GetProperty("data").GetProperty("threads").GetArrayLength());
            state = pull.RootElement.GetProperty("channelState").GetString()!;
        }

        using var after = new ChannelApp(dataPath);
        // The encrypted auth token still decrypts: a signed webhook is accepted.
        (await after.PostInboundAsync(Fixtures.WhatsApp("after restart"))).EnsureSuccessStatusCode();
        await after.RouteAsync();

        // The encrypted securityContext still matches, and the cursor continues where it was.
        using var next = await after.PullAsync(state);
        var thread = Assert.Single(next.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray());
        Assert.Equal("after restart", thread.GetProperty("content").GetString());

        var messages = await after.Admin().GetFromJsonAsync<JsonElement[]>("/api/admin/messages");
        Assert.Equal(4, messages!.Length);
    }

    [Fact]
    public async Task WithoutAConfiguredAdminKeyOneIsGeneratedIntoAPrivateFileAndKeptAcrossRestarts()
    {
        var settings = new Dictionary<string, string?> { ["Admin:ApiKey"] = "" };
        string key;
        string dataPath;
        using (var first = new ChannelApp(settings: settings))
        {
            dataPath = first.DataPath;
            _ = first.CreateClient();
            var file = Path.Combine(first.DataPath, "admin-api-key");
            key = File.ReadAllText(file).Trim();
            Assert.True(key.Length >= 32);
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Contains(first.Logs.Lines, l => l.Contains(file));
            Assert.DoesNotContain(first.Logs.Lines, l => l.Contains(key));
        }

        using var second = new ChannelApp(dataPath, settings);
        var client = second.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/admin/numbers")).StatusCode);
        client.DefaultRequestHeaders.Authorization = new("Bearer", ChannelApp.AdminKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/admin/numbers")).StatusCode);
    }
}
