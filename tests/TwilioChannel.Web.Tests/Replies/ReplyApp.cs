using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Tests.Infrastructure;
using Xunit;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>Helpers shared by the reply tests: Desk's push as Desk sends it.</summary>
internal static class ReplyApp
{
    public static JsonObject Push(string extParentId, string content, string? id = null, string contentType = "text/plain", JsonArray? attachments = null)
    {
        var push = JsonNode.Parse(Fixtures.Text("desk-push-reply.json"))!.AsObject();
        var resource = push["resource"]!.AsObject();
        resource["id"] = id ?? Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString();
        resource["extParentId"] = extParentId;
        resource["content"] = content;
        resource["contentType"] = contentType;
        if (attachments is not null)
        {
            resource["attachments"] = attachments;
            resource["hasAttach"] = true;
        }
        return push;
    }

    public static async Task<(int Status, JsonObject Body)> PushAsync(this ChannelApp app, JsonObject push, string securityContext = Fixtures.SecurityContext, HttpClient? client = null)
    {
        var response = await (client ?? app.CreateClient()).PostAsJsonAsync($"/desk/push?orgId={Fixtures.OrgId}&securityContext={Uri.EscapeDataString(securityContext)}", push);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text)!.AsObject());
    }

    /// <summary>Pushes the same reply twice: both answers are the same refusal, word for word. The refusal.</summary>
    public static async Task<JsonObject> RefusedAlikeTwiceAsync(this ChannelApp app, JsonObject push)
    {
        var (first, refused) = await app.PushAsync(push);
        var (again, refusedAgain) = await app.PushAsync(push);
        Assert.Equal(400, first);
        Assert.Equal(400, again);
        Assert.Equal(refused.ToJsonString(), refusedAgain.ToJsonString());
        return refused;
    }

    /// <summary>Pushes the same reply twice: both answered 200 with the same extId.</summary>
    public static async Task SentAndAnsweredAlikeTwiceAsync(this ChannelApp app, JsonObject push)
    {
        var (status, sent) = await app.PushAsync(push);
        var (repeated, sentAgain) = await app.PushAsync(push);
        Assert.Equal(200, status);
        Assert.Equal(200, repeated);
        Assert.Equal((string?)sent["extId"], (string?)sentAgain["extId"]);
    }

    /// <summary>The customer writes first (opens the WhatsApp window and creates the conversation).</summary>
    public static async Task CustomerWritesAsync(this ChannelApp app, Dictionary<string, string> form)
    {
        (await app.PostInboundAsync(form)).EnsureSuccessStatusCode();
        await app.RouteAsync();
    }

    /// <summary>
    /// Twilio's status callback for <paramref name="sid"/>, signed, from the shared fixture, at the URL our send gave
    /// Twilio for it: naming the reply that sent it (<paramref name="replyId"/>, else the finished reply holding the SID;
    /// a SID no reply of ours holds gets the bare URL).
    /// </summary>
    public static async Task<HttpResponseMessage> StatusCallbackAsync(this ChannelApp app, string sid, string status, string? errorCode = null, long? replyId = null)
    {
        replyId ??= await app.ReplyHoldingAsync(sid);
        return await app.PostInboundAsync(StatusForm(sid, status, errorCode), path: StatusPath(replyId));
    }

    /// <summary>Twilio's status callback form for <paramref name="sid"/>, from the shared fixture (our account, our number).</summary>
    public static Dictionary<string, string> StatusForm(string sid, string status, string? errorCode = null)
    {
        var form = Fixtures.Form("status-delivered.form");
        form["MessageSid"] = form["SmsSid"] = sid;
        form["MessageStatus"] = form["SmsStatus"] = status;
        if (errorCode is not null) form["ErrorCode"] = errorCode;
        return form;
    }

    /// <summary>The status callback URL our send gives Twilio for a message of reply <paramref name="replyId"/>; the bare
    /// route without one.</summary>
    public static string StatusPath(long? replyId) => replyId is { } id ? $"/twilio/status?reply={id}" : "/twilio/status";

    private static async Task<long?> ReplyHoldingAsync(this ChannelApp app, string sid)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var quoted = JsonSerializer.Serialize(sid);
        return await scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Replies.AsNoTracking()
            .Where(r => r.Sids.Contains(quoted)).Select(r => (long?)r.Id).FirstOrDefaultAsync();
    }

    /// <summary>
    /// Pushes <paramref name="push"/> while Twilio holds back its answer to the create call (<paramref name="created"/>)
    /// until <paramref name="early"/> ran with the claimed reply's id: the message's status callbacks reach us before
    /// the send stored its SID, as they do when Twilio's answer is slow on its way back.
    /// </summary>
    public static async Task<(int Status, JsonObject Body)> PushWithEarlyCallbacksAsync(this ChannelApp app, FakeTwilio twilio, JsonObject push, string created, Func<long, Task> early)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        twilio.AcceptMessagesAfter(release.Task, created);
        var pushing = app.PushAsync(push);
        try
        {
            await early(await app.ClaimedReplyIdAsync((string)push["resource"]!["id"]!));
        }
        finally
        {
            release.SetResult();
        }
        return await pushing;
    }

    /// <summary>The id of Desk reply <paramref name="deskThreadId"/>'s row once its push claimed it (the send names it in
    /// the status callback URL).</summary>
    public static async Task<long> ClaimedReplyIdAsync(this ChannelApp app, string deskThreadId)
    {
        long? id = null;
        await Eventually.UntilAsync(() =>
        {
            using var scope = app.Services.CreateScope();
            id = scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Replies.AsNoTracking()
                .Where(r => r.DeskThreadId == deskThreadId).Select(r => (long?)r.Id).FirstOrDefault();
            return id is not null;
        }, $"reply {deskThreadId} claimed");
        return id!.Value;
    }

    public static async Task<JsonElement[]> FailedAsync(this ChannelApp app) =>
        (await app.Admin().GetFromJsonAsync<JsonElement[]>("/api/admin/messages?status=failed"))!;

    /// <summary>The tickets (conversations' extIds) stored so far, in order.</summary>
    public static async Task<List<string>> TicketsAsync(this ChannelApp app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        return scope.ServiceProvider.GetRequiredService<Data.ChannelDbContext>().Conversations.Select(c => c.TicketExtId).Order().ToList();
    }
}
