using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.History;
using TwilioChannel.Web.Routing;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Twilio;

/// <summary>The ack path writes each new message once, already routed; the work queues live in partial indexes.</summary>
public sealed class AckPathTests : IAsyncLifetime
{
    private readonly ChannelApp _app = new();

    public Task InitializeAsync() => _app.SeedAsync();

    public Task DisposeAsync() { _app.Dispose(); return Task.CompletedTask; }

    [Fact]
    public async Task ALiveMessageIsStoredAlreadyRoutedWithItsConversationAndThread()
    {
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(Fixtures.Form("whatsapp-text.form"))).StatusCode);

        // No background router involved: the acknowledged row is already routed and its thread is in the feed.
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        var message = await db.Messages.AsNoTracking().SingleAsync();
        Assert.Equal(MessageState.Routed, message.State);
        Assert.Equal(Fixtures.OrgId, message.OrgId);
        var conversation = await db.Conversations.AsNoTracking().SingleAsync();
        Assert.Equal(conversation.Id, message.ConversationId);
        var thread = await db.FeedThreads.AsNoTracking().SingleAsync();
        Assert.Equal(message.Id, thread.MessageId);
        Assert.Equal(conversation.Id, thread.ConversationId);
    }

    [Fact]
    public async Task ATwilioRetryOfAStoredMessageTouchesNeitherItsConversationNorTheFeed()
    {
        var form = Fixtures.Form("whatsapp-text.form");
        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form)).StatusCode);
        var before = await ConversationAsync();
        await Task.Delay(50); // a retry arrives later: routing it again would move LastInboundAt (the WhatsApp window)

        Assert.Equal(HttpStatusCode.OK, (await _app.PostInboundAsync(form)).StatusCode);

        var after = await ConversationAsync();
        Assert.Equal(before.LastInboundAt, after.LastInboundAt);
        Assert.Equal(before.LastMessageAt, after.LastMessageAt);
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        Assert.Equal(1, await db.Messages.CountAsync());
        Assert.Equal(1, await db.FeedThreads.CountAsync());
    }

    [Fact]
    public async Task TheRoutersAndTheBackfillsQueuesAreServedByTheirPartialIndexes()
    {
        // Every Messages index costs each webhook a B-tree insert, so the queues' indexes are partial; SQLite only uses a
        // partial index when the query repeats its filter as a literal. A parameterised State would silently scan.
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        Assert.Contains("IX_Messages_Received", await QueryPlanAsync(MessageRouter.ReceivedBatch(db)));
        Assert.Contains("IX_Messages_BackfillId_State_ReceivedAt", await QueryPlanAsync(BackfillJob.HeldChunk(db, backfillId: 7)));
    }

    [Fact]
    public async Task AWebhookWritesOnlyIndexesThatSomethingReads()
    {
        // Each index here is a B-tree insert per webhook (with many customers, into a different leaf each time); one
        // that no query uses is pure write cost. Foreign keys no longer bring one by convention (ChannelDbContext).
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_app.DataPath, "twilio-channel.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('Messages', 'FeedThreads') ORDER BY name";
        var indexes = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) indexes.Add(reader.GetString(0));

        Assert.Equal(
            [
                "IX_FeedThreads_OrgId_Position",           // the pull and the import
                "IX_Messages_BackfillId_State_ReceivedAt", // partial: held backfill messages only
                "IX_Messages_MessageSid",                  // exactly once per Twilio message
                "IX_Messages_Received",                    // partial: the router's queue
                "IX_Messages_Unrouted",                    // partial: messages for numbers not configured yet
            ],
            indexes);
    }

    private async Task<Conversation> ConversationAsync()
    {
        await using var scope = _app.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ChannelDbContext>().Conversations.AsNoTracking().SingleAsync();
    }

    /// <summary>SQLite's plan for the SQL EF generates (ToQueryString writes parameters as ".param set" lines).</summary>
    private async Task<string> QueryPlanAsync<T>(IQueryable<T> query)
    {
        var lines = query.ToQueryString().Split('\n');
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_app.DataPath, "twilio-channel.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        foreach (var line in lines.Where(l => l.StartsWith(".param set ", StringComparison.Ordinal)))
        {
            var parts = line.Trim().Split(' ', 4);
            command.Parameters.AddWithValue(parts[2], parts[3].Trim('\''));
        }
        command.CommandText = "EXPLAIN QUERY PLAN " + string.Join('\n', lines.Where(l => !l.StartsWith(".param", StringComparison.Ordinal)));
        var plan = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) plan.Add(reader.GetString(3));
        return string.Join(" | ", plan);
    }
}
