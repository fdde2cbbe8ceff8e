using System.Text.Json;

namespace TwilioChannel.Domain.Desk;

public sealed record DeskAttachment(string? Id, string? Name, long? Size, string? Href);

/// <summary>DESK_REPLY_THREAD_OBJECT, the part of Desk's push that matters to sending.</summary>
public sealed record DeskReply(
    string Id,
    string ExtParentId,
    string? TicketId,
    string Content,
    string ContentType,
    IReadOnlyList<DeskAttachment> Attachments,
    string? Visibility)
{
    public bool IsHtml => ContentType.Contains("html", StringComparison.OrdinalIgnoreCase);

    /// <summary>"private": a thread only agents see (the doc's visibility is public or private).</summary>
    public bool IsPrivate => string.Equals(Visibility?.Trim(), "private", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads {"configParams": …, "resource": {…}}. Ids are longs in the doc and strings in the samples: both are read.
    /// Returns null with the reason when the payload can't be a reply.
    /// </summary>
    public static DeskReply? Parse(JsonElement root, out string? error)
    {
        error = null;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("resource", out var r) || r.ValueKind != JsonValueKind.Object)
        {
            error = "Expected {\"resource\": {…}} with the agent's reply.";
            return null;
        }
        var id = Text(r, "id");
        var parent = Text(r, "extParentId");
        if (string.IsNullOrWhiteSpace(id) || id.Length > 64) error = "resource.id is missing or invalid.";
        else if (string.IsNullOrWhiteSpace(parent) || parent.Length > 256) error = "resource.extParentId is missing or invalid.";
        else if (!TicketKey.TryParse(parent, out _))
            error = "resource.extParentId is not a ticket of this channel: a customer's number in E.164 (+14155550123), or whatsapp:+… for WhatsApp, optionally with #n.";
        if (error is not null) return null;

        var attachments = new List<DeskAttachment>();
        if (r.TryGetProperty("attachments", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in list.EnumerateArray())
            {
                if (a.ValueKind != JsonValueKind.Object) continue;
                long? size = long.TryParse(Text(a, "size"), out var s) ? s : null;
                attachments.Add(new DeskAttachment(Text(a, "id"), Text(a, "name"), size, Text(a, "href")));
            }
        }
        var content = Text(r, "content") ?? "";
        if (string.IsNullOrWhiteSpace(content) && attachments.Count == 0)
        {
            error = "The reply has neither content nor attachments.";
            return null;
        }
        return new DeskReply(id!, parent!, Text(r, "ticketId"), content, Text(r, "contentType") ?? "text/plain", attachments, Text(r, "visibility"));
    }

    private static string? Text(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
}
