using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Admin;

/// <summary>GET /api/admin/messages: ?status=… pages as ?state=… does (after= the last row of the previous page), and
/// its validation problems name what is accepted.</summary>
public sealed class MessagesPagingTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new();

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    [Fact]
    public async Task FailedRepliesPastTheFirstThousandAreReachedPageByPageEachOnce()
    {
        const int total = 1005;
        var start = new DateTime(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc);
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
            // Groups of 10 share an updatedAt, so the order (and the cursor) must break ties.
            db.OutboundStatuses.AddRange(Enumerable.Range(0, total).Select(i => new OutboundStatus
            {
                MessageSid = $"SM{i:D32}", Status = i % 3 == 0 ? "undelivered" : "failed", ErrorCode = 30003, To = "+14155550123",
                From = Fixtures.SmsNumber, OrgId = Fixtures.OrgId, UpdatedAt = start.AddSeconds(i / 10),
            }));
            db.OutboundStatuses.Add(new OutboundStatus { MessageSid = "SMdelivered", Status = "delivered", UpdatedAt = start, To = "+14155550123" });
            await db.SaveChangesAsync();
        }

        var admin = _app.Admin();
        var seen = new List<(string Sid, DateTime At)>();
        string? after = null;
        for (var pages = 0; pages < 10; pages++)
        {
            var page = (await admin.GetFromJsonAsync<JsonElement[]>($"/api/admin/messages?status=failed&limit=400{(after is null ? "" : "&after=" + after)}"))!;
            if (page.Length == 0) break;
            seen.AddRange(page.Select(r => (r.GetProperty("messageSid").GetString()!, r.GetProperty("updatedAt").GetDateTime())));
            after = seen[^1].Sid;
        }

        Assert.Equal(total, seen.Count);
        Assert.Equal(total, seen.Select(s => s.Sid).Distinct().Count());
        Assert.True(seen.Select(s => s.At).SequenceEqual(seen.Select(s => s.At).OrderDescending()), "newest first across pages");
        Assert.Equal($"SM{0:D32}", seen[^1].Sid);
    }

    [Fact]
    public async Task AStatusPageAfterAnUnknownMessageSidIsAValidationProblemNamingAfter()
    {
        using var response = await _app.Admin().GetAsync("/api/admin/messages?status=failed&after=SMnosuchmessage");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("after", out _));
    }

    [Fact]
    public async Task AStatePageAfterSomethingThatIsNotAnIdIsAValidationProblemNamingAfter()
    {
        using var response = await _app.Admin().GetAsync("/api/admin/messages?state=routed&after=abc");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("after", out _));
    }

    [Fact]
    public async Task TheErrorForAnUnknownStateNamesEveryStateTheListAccepts()
    {
        using var response = await _app.Admin().GetAsync("/api/admin/messages?state=bogus");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("state")[0].GetString()!;
        foreach (var state in new[] { "received", "routed", "unrouted", "held" })
        {
            Assert.Contains(state, message);
            using var accepted = await _app.Admin().GetAsync("/api/admin/messages?state=" + state);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }
    }
}
