using System.ComponentModel.DataAnnotations;

namespace TwilioChannel.Web.Configuration;

/// <summary>
/// Section "Inbound": how acknowledged webhooks move from the inbox into the database while they arrive in a burst.
/// The database's writes for each message (a random MessageSid index leaf, the conversation, the feed) share the disk's
/// flushes with the inbox's, and during a burst they slowed every acknowledgement to Twilio (docs/decisions.md,
/// "Bursts: the projection waits").
/// </summary>
public sealed class InboundOptions
{
    public const string Section = "Inbound";

    /// <summary>Webhooks per second, over the last second, from which moving them into the database waits for the
    /// burst to pass. 0: never waits.</summary>
    [Range(0, 1_000_000)]
    public int BurstRate { get; set; } = 2_000;

    /// <summary>The longest the projection waits during a burst before it moves everything acknowledged so far anyway
    /// (and then waits again if the burst goes on). Desk sees a burst's messages at most about this much later.</summary>
    [Range(1, 600)]
    public int BurstMaxDelaySeconds { get; set; } = 30;
}
