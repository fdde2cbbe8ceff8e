namespace TwilioChannel.Domain.Desk;

// The Desk channel sync model (desk-channel-sync.md). Property names serialise in camelCase exactly as the doc spells
// them; optional fields are null and left out of the JSON.

public sealed record SyncActor(
    string ExtId, string Name, string? Phone = null, string? DisplayName = null, string? Email = null,
    [property: System.Text.Json.Serialization.JsonPropertyName("photoURL")] string? PhotoUrl = null);

/// <summary>SYNC_EXTRA_OBJECT: key and queriableValue may use the {{ticket.id}} / {{thread.id}} merge fields.</summary>
public sealed record SyncExtra(string Key, IReadOnlyDictionary<string, object?> Value, string QueriableValue);

public sealed record SyncTicket(
    string ExtId,
    string Subject,
    DateTime CreatedTime,
    SyncActor Actor,
    string? Phone = null,
    SyncExtra? Extra = null);

public sealed record SyncThread(
    string ExtId,
    string ExtParentId,
    DateTime CreatedTime,
    string Content,
    string Direction,
    string From,
    IReadOnlyList<string> To,
    SyncActor Actor,
    bool CanReply = true,
    string ContentType = "text/plain",
    IReadOnlyList<string>? AttachmentUrls = null,
    SyncExtra? Extra = null);

public sealed record SyncData(IReadOnlyList<SyncTicket> Tickets, IReadOnlyList<SyncThread> Threads);

/// <summary>SYNC_OBJECT: what a pull answers and what the import API takes. At most 1000 tickets and 1000 threads.</summary>
public sealed record SyncObject(string? ChannelState, SyncData Data)
{
    public const int MaxTickets = 1000;
    public const int MaxThreads = 1000;
}
