using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Twilio.Clients;
using Twilio.Rest.Api.V2010.Account;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.History;

/// <summary>
/// Messages found in Twilio's list (backfill, reconciliation) stored like webhook messages: the same row, a raw form
/// with the webhook's field names (so routing and media work unchanged), the original time, and "in"/"out" direction.
/// The unique MessageSid makes them merge with live traffic and with each other: stored once, whoever comes first.
/// </summary>
internal static class HistoryMessages
{
    public static bool IsInbound(MessageResource m) => m.Direction == MessageResource.DirectionEnum.Inbound;

    /// <summary>When the message was sent (Twilio's DateSent), else created.</summary>
    public static DateTime SentAt(MessageResource m) =>
        DateTime.SpecifyKind((m.DateSent ?? m.DateCreated ?? DateTime.UtcNow).ToUniversalTime(), DateTimeKind.Utc);

    public static async Task<Message> ToMessageAsync(MessageResource m, ITwilioRestClient client, MessageState state, long? backfillId)
    {
        var numMedia = int.TryParse(m.NumMedia, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;
        var form = new Dictionary<string, string>
        {
            ["MessageSid"] = m.Sid,
            ["AccountSid"] = m.AccountSid,
            ["From"] = m.From?.ToString() ?? "",
            ["To"] = m.To ?? "",
            ["Body"] = m.Body ?? "",
            ["NumMedia"] = numMedia.ToString(CultureInfo.InvariantCulture),
            ["SmsStatus"] = m.Status?.ToString() ?? "",
            ["Direction"] = m.Direction?.ToString() ?? "",
            ["Source"] = "twilio-message-list",
        };
        if (m.MessagingServiceSid is { Length: > 0 } service) form["MessagingServiceSid"] = service;
        if (numMedia > 0)
        {
            var media = await TwilioHistory.MediaAsync(client, m.AccountSid, m.Sid);
            for (var i = 0; i < media.Count; i++)
            {
                form[$"MediaUrl{i}"] = media[i].Url;
                if (media[i].ContentType is { } type) form[$"MediaContentType{i}"] = type;
            }
        }
        return new Message
        {
            MessageSid = m.Sid,
            AccountSid = m.AccountSid,
            From = form["From"],
            To = form["To"],
            Body = form["Body"],
            MessagingServiceSid = form.GetValueOrDefault("MessagingServiceSid"),
            NumMedia = numMedia,
            Direction = IsInbound(m) ? "in" : "out",
            State = state,
            ReceivedAt = SentAt(m),
            RawForm = Data.RawForm.Serialize(form),
            BackfillId = backfillId,
        };
    }

    /// <summary>
    /// Inserts what is new; returns how many rows were added or adopted. A message still held by an earlier, cancelled
    /// backfill is adopted by this one (so it gets routed after all); anything else already stored is left as it is.
    /// </summary>
    public static async Task<int> StoreAsync(DbConnection connection, DbTransaction tx, IEnumerable<Message> messages, CancellationToken ct)
    {
        await using var insert = await PreparedCommand.CreateAsync(connection, tx, """
            INSERT INTO "Messages" ("MessageSid", "AccountSid", "From", "To", "Body", "MessagingServiceSid", "NumMedia", "Direction", "State", "ReceivedAt", "RawForm", "BackfillId")
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11)
            ON CONFLICT ("MessageSid") DO UPDATE SET "BackfillId" = excluded."BackfillId"
            WHERE "Messages"."State" = 3 AND excluded."State" = 3 AND "Messages"."BackfillId" IS NOT excluded."BackfillId"
            """, 12, ct);
        var stored = 0;
        foreach (var m in messages)
            stored += await insert.ExecuteAsync(ct, m.MessageSid, m.AccountSid, m.From, m.To, m.Body, m.MessagingServiceSid, m.NumMedia,
                m.Direction, (int)m.State, m.ReceivedAt, m.RawForm, m.BackfillId);
        return stored;
    }
}
