using System.Diagnostics;
using System.Text.Json;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Desk;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Sends one agent reply: checks what would certainly fail first (opt-out, WhatsApp window, attachments and inline
/// images), converts the content, then sends its parts in order. Filled into <paramref name="reply"/>: what was sent
/// and the SIDs.
/// A create call with an unknown outcome (5xx, timeout) is never blindly repeated: we look for the message first, resend
/// once only if it isn't there, and fail with that reason if the outcome is still unknown.
/// </summary>
internal sealed class ReplySender(
    TwilioApiClients clients, IServiceProvider services, MediaTokens media, TemplateInvites invites,
    Microsoft.Extensions.Options.IOptions<Configuration.DeskOptions> deskOptions, TimeProvider time, ILogger<ReplySender> logger)
{
    private static readonly TimeSpan WhatsAppWindow = TimeSpan.FromHours(24);

    /// <summary>
    /// The most messages one reply goes out as (16,000 characters of text, or on WhatsApp the text and its files). The
    /// parts go one after the other within the push budget: a reply of dozens of parts would run out of it halfway
    /// and reach the customer cut off, so it is refused whole, before anything is fetched or sent.
    /// </summary>
    internal const int MaxMessages = 10;

    /// <summary>The pause between rounds of tries while Twilio rate-limits (each round is the client's own retries).</summary>
    private static readonly TimeSpan RateLimitPause = TimeSpan.FromSeconds(1);

    /// <summary>What a round needs of the budget: its call gets 60 % of what's left, and the client's three retries
    /// with backoff take up to ≈2.5 s. With less, a round would end as a timeout, which reads as an unknown outcome.</summary>
    private static readonly TimeSpan RateLimitRound = TimeSpan.FromSeconds(4.5);

    /// <summary>Messages Twilio accepted for this reply (SID, status), stored with the reply's outcome in one commit.</summary>
    public List<(string Sid, string Status)> Accepted { get; } = [];

    /// <summary>What became of the re-engagement template this reply claimed, stored with the reply's outcome.</summary>
    public TemplateInvites.Outcome? Invite { get; private set; }

    /// <summary>
    /// When Twilio refused an SMS reply with 21610 (the customer opted out, and we hadn't seen the STOP: sent before
    /// the number was added, lost, or through another path). Stored with the reply's outcome as the customer's opt-out
    /// of this sender, so the next reply is refused before any call to Twilio and a START clears it as usual.
    /// Not on WhatsApp: opt-outs are checked and cleared for SMS only (a WhatsApp STOP/START isn't recorded, and
    /// ReplyTarget.OptedOut isn't asked), so a row recorded there would never be read, nor cleared by the customer's START.
    /// </summary>
    public DateTime? OptedOutAt { get; private set; }

    /// <param name="resumeSince">Resuming a send a stopped process left unfinished (Replies/ReplyService): when it started.
    /// Each message is then looked for at Twilio before it is sent.</param>
    public async Task<PushOutcome> SendAsync(Reply reply, Installation installation, ReplyTarget target, DeskReply desk, string publicBase, TimeSpan budget, DateTime? resumeSince = null)
    {
        // Names the reply (Twilio signs the whole URL): a callback for a finished reply finds its row by the reply's key,
        // so the outcome itself writes no row keyed by the random SID (Replies/StatusStore).
        var statusCallback = new Uri($"{publicBase}/twilio/status?reply={reply.Id}");
        var clock = Stopwatch.StartNew();
        TimeSpan Left() => budget - clock.Elapsed;

        reply.To = target.CustomerAddress;
        reply.From = target.FromDisplay;
        reply.MessagingServiceSid = target.MessagingServiceSid;

        // Desk's reply object carries a visibility; a thread only agents may see must never reach the customer.
        if (desk.IsPrivate) return PushOutcome.Refused("This reply is private (visible to agents only), so it was not sent to the customer.");

        var client = await clients.ForAccountAsync(target.Number.AccountSid, CancellationToken.None);
        if (client is null) return PushOutcome.Refused($"The Twilio account {target.Number.AccountSid} of {target.Number.Address} is not configured.");

        if (target.Channel == MessagingChannel.Sms && target.OptedOut)
            return PushOutcome.Refused(TwilioErrors.Describe(21610), 21610);

        if (target.Channel == MessagingChannel.WhatsApp && !WithinWindow(target))
            return await WindowClosedAsync(reply, target, client, statusCallback, budget, Left);

        if (desk.IsHtml && HtmlToText.TooManyElements(desk.Content))
            return PushOutcome.Refused($"This reply's formatting has more than {HtmlToText.MaxElements:N0} HTML elements, more than a message can carry, so nothing was sent. Send it with less formatting (or as plain text).");
        List<HtmlToText.InlineImage> images = [];
        var text = desk.IsHtml
            ? HtmlToText.Convert(desk.Content, target.Channel == MessagingChannel.WhatsApp, url => Desk.DeskHosts.IsOnDesk(url, installation, deskOptions.Value), out images)
            : desk.Content.Trim();
        // An image the agent sees in the reply must reach the customer or fail the reply, never be left out.
        if (images.FirstOrDefault(i => i.Url is null) is { } unsendable) return PushOutcome.Refused(Unsendable(unsendable.Src));
        // Inline images first, in the text's order (they are part of what the agent wrote), then the attachments (added
        // to the reply, as an e-mail shows them after its body).
        var files = images.Select(i => DeskAttachments.DeskFile.InlineImage(i.Url!)).Concat(desk.Attachments.Select(DeskAttachments.DeskFile.Attached)).ToList();
        if (string.IsNullOrWhiteSpace(text) && files.Count == 0) return PushOutcome.Refused("The reply is empty once formatting is removed.");
        reply.Body = text;
        var parts = string.IsNullOrWhiteSpace(text) ? []
            : target.Channel == MessagingChannel.WhatsApp ? WhatsAppSplitter.Split(text) : ReplySplitter.Split(text);
        // Counted on the plan the files will follow once fetched, so the count and the sending can't disagree.
        var planned = Plan(parts, files, target.Channel).Count;
        if (planned > MaxMessages)
            return PushOutcome.Refused($"This reply would go out as {planned} {ChannelAddress.ChannelName(target.Channel)} messages, more than the {MaxMessages} one reply may send, so nothing was sent. Send it as several shorter replies.");
        // Before any call (Zoho's token, Desk's files, Twilio): a count no fetch can change, and the reason the agent must
        // act on even when Zoho OAuth isn't configured or its refresh would fail.
        if (target.Channel == MessagingChannel.Sms && files.Count > DeskAttachments.MaxMmsFiles)
            return PushOutcome.Refused(files.Any(f => f.Inline)
                ? $"An SMS/MMS carries at most {DeskAttachments.MaxMmsFiles} files, attachments and inline images together."
                : $"An SMS/MMS carries at most {DeskAttachments.MaxMmsFiles} attachments.");

        var mediaUrls = new List<Uri>();
        if (files.Count > 0)
        {
            using var fetchBudget = new CancellationTokenSource(Positive(Left() * 0.5));
            // Resolved only for a reply with files: it is a typed HttpClient over another (Zoho's), built per resolve.
            var attachments = services.GetRequiredService<DeskAttachments>();
            var (fetched, failure) = await attachments.FetchAsync(installation, reply, files, target.Channel, fetchBudget.Token);
            if (fetched is null) return failure!;
            mediaUrls.AddRange(fetched.Select(f => new Uri($"{publicBase}/media/out/{media.CreateOutbound(f.Id)}")));
        }

        var messages = Plan(parts, mediaUrls, target.Channel);
        var sids = new List<string>();
        for (var i = 0; i < messages.Count; i++)
        {
            var options = TwilioSend.Options(target.CustomerAddress, target.Number.Address, target.MessagingServiceSid, statusCallback);
            if (messages[i].Body is { Length: > 0 } body) options.Body = body;
            if (messages[i].Media.Count > 0) options.MediaUrl = messages[i].Media;
            var (sid, failure) = await SendOnceAsync(client, reply.Id, target, options, messages[i].Body ?? "", Left, resumeSince);
            if (sid is null)
            {
                var partial = sids.Count == 0 ? "" : $" Only the first {sids.Count} of {messages.Count} messages of this reply were sent.";
                Record(reply, sids);
                return failure! with { Body = new() { ["message"] = failure.Body["message"]!.GetValue<string>() + partial } };
            }
            sids.Add(sid);
        }

        Record(reply, sids);
        return PushOutcome.Sent(sids[0], sids, target.FromDisplay, target.CustomerAddress, desk.ExtParentId, ChannelAddress.ChannelName(target.Channel));
    }

    /// <summary>Why an image the text can't carry fails the reply: an image pasted into Desk's editor is a data: URI.</summary>
    private static string Unsendable(string src) =>
        src.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
            ? "The reply contains a pasted image that can't be sent; attach the file instead."
            : "The reply contains an image without a web address it can be sent from; attach the file instead.";

    private sealed record Planned<TFile>(string? Body, List<TFile> Media);

    /// <summary>
    /// The messages a reply becomes, in order: the text in parts of ≤ 1600 characters; on SMS the files (inline images and
    /// attachments) ride on the first message (MMS, up to 10), on WhatsApp each file is a message of its own (one media
    /// file per message).
    /// </summary>
    private static List<Planned<TFile>> Plan<TFile>(IReadOnlyList<string> parts, List<TFile> media, MessagingChannel channel)
    {
        var plan = parts.Select(p => new Planned<TFile>(p, [])).ToList();
        if (media.Count == 0) return plan;
        if (channel == MessagingChannel.WhatsApp)
        {
            plan.AddRange(media.Select(m => new Planned<TFile>(null, [m])));
            return plan;
        }
        if (plan.Count == 0) return [new Planned<TFile>(null, media)];
        plan[0] = plan[0] with { Media = media };
        return plan;
    }

    private async Task<(string? Sid, PushOutcome? Failure)> SendOnceAsync(
        global::Twilio.Clients.ITwilioRestClient client, long replyId, ReplyTarget target, global::Twilio.Rest.Api.V2010.Account.CreateMessageOptions options, string body, Func<TimeSpan> left,
        DateTime? resumeSince)
    {
        if (resumeSince is { } since)
        {
            // The stopped attempt may have sent this message: only its text can tell (a media-only message can't be matched).
            if (body.Length == 0)
                return (null, PushOutcome.Unavailable("The service stopped while sending this reply, and whether its attachment reached the customer can't be checked. Check the conversation before sending it again."));
            var sent = await FindOwnAsync(client, replyId, target, body, since, Positive(left() * 0.4));
            if (!sent.Answered)
                return (null, PushOutcome.Unavailable("The service stopped while sending this reply, and Twilio's message list can't be read now to check whether it went out. Try again shortly."));
            if (sent.Sid is { } already)
            {
                Accepted.Add((already, "accepted"));
                return (already, null);
            }
        }
        var startedAt = time.GetUtcNow().UtcDateTime;
        string? unknownBefore = null;
        for (var unknowns = 0; ;)
        {
            // Keep a third of what's left for the lookup an unknown outcome needs.
            var result = await TwilioSend.CreateAsync(client, options, Positive(left() * 0.6));
            switch (result)
            {
                case SendResult.Accepted accepted:
                    Accepted.Add((accepted.Sid, accepted.Status));
                    return (accepted.Sid, null);
                case SendResult.Refused refused:
                    if (refused.Code == 21610 && target.Channel == MessagingChannel.Sms) OptedOutAt = time.GetUtcNow().UtcDateTime;
                    return (null, PushOutcome.Refused(TwilioErrors.Describe(refused.Code, refused.Message), refused.Code));
                case SendResult.NotSent { Code: 20429 } when left() > RateLimitPause + RateLimitRound:
                    // Certainly not sent, so it may be tried again for as long as the budget lasts: the client's own
                    // retries (three, ≈2 s) gave up with most of the budget unused, and the agent got "Try again".
                    logger.LogInformation("Twilio is rate-limiting the account; trying again in {Pause} s.", RateLimitPause.TotalSeconds);
                    await Task.Delay(RateLimitPause, time);
                    break;
                // After an unknown outcome, a resend that certainly didn't go says nothing of the first try, which
                // Twilio may still list later: stored as "nothing sent", the reply was sent afresh by Desk's next push
                // without a lookup, and the customer got it twice (found by a code review).
                case SendResult.NotSent notSent when unknownBefore is not null:
                    return (null, PushOutcome.Unavailable($"{unknownBefore} and the message can't be found at Twilio, and the try after it was refused ({notSent.Reason}): it may or may not have reached the customer. Check the conversation before sending it again.", notSent.Code));
                case SendResult.NotSent notSent:
                    return (null, PushOutcome.NotSent($"{notSent.Reason}; nothing was sent. Try again.", notSent.Code));
                case SendResult.Unknown unknown:
                    unknownBefore = unknown.Reason;
                    logger.LogWarning("Twilio send outcome unknown ({Reason}); looking for the message before any resend.", unknown.Reason);
                    var found = await FindOwnAsync(client, replyId, target, body, startedAt, Positive(left() * 0.5));
                    if (found.Sid is { } existing)
                    {
                        Accepted.Add((existing, "accepted"));
                        return (existing, null);
                    }
                    if (!found.Answered)
                        return (null, PushOutcome.Unavailable($"{unknown.Reason} and Twilio's message list can't be read to check: it may or may not have reached the customer. Check the conversation before sending it again."));
                    if (++unknowns == 2 || left() < TimeSpan.FromSeconds(1))
                        return (null, PushOutcome.Unavailable($"{unknown.Reason} and the message can't be found at Twilio: it may or may not have reached the customer. Check the conversation before sending it again."));
                    break;
            }
        }
    }

    /// <summary>
    /// This reply's message at Twilio, if it is there (after an unknown outcome, or resuming a stopped send): a message
    /// with the same words to the customer from the sender, created since <paramref name="since"/>, that no other reply
    /// of ours sent and this reply hasn't taken for an earlier part. Two replies with the same words ("OK, thanks!")
    /// within a minute: the second's lookup took the first's message, and the second reply was never sent while Desk
    /// showed it sent with the first's SID.
    /// </summary>
    private async Task<(bool Answered, string? Sid)> FindOwnAsync(global::Twilio.Clients.ITwilioRestClient client, long replyId, ReplyTarget target, string body, DateTime since, TimeSpan timeout)
    {
        var found = await TwilioSend.FindRecentAsync(client, target.CustomerAddress, target.Number.Address, target.MessagingServiceSid, body, since, timeout);
        if (found.Matches.Count == 0) return (found.Answered, null);
        var others = await SentReplies.SentByOtherRepliesAsync(services.GetRequiredService<ChannelDbContext>(), replyId, target.CustomerAddress, found.Matches, since, CancellationToken.None);
        var own = found.Matches.FirstOrDefault(sid => !others.Contains(sid) && !Accepted.Exists(a => a.Sid == sid));
        if (own is null)
            logger.LogInformation("Twilio has {Count} message(s) with this reply's words to the customer, each sent by another of our replies: not this reply's.", found.Matches.Count);
        return (true, own);
    }

    private async Task<PushOutcome> WindowClosedAsync(Reply reply, ReplyTarget target, global::Twilio.Clients.ITwilioRestClient client, Uri statusCallback, TimeSpan budget, Func<TimeSpan> left)
    {
        if (target.Number.WhatsAppTemplateSid is not { } template)
            return PushOutcome.Refused(TwilioErrors.Describe(63016) + ReplacedSender(target), 63016);

        // One invitation per sender and customer while the window stays closed (Replies/TemplateInvites). Half of
        // what's left may go on waiting for a concurrent push's send, the rest is this push's own send.
        var claim = await invites.ClaimAsync(target.Number.Address, target.CustomerAddress, reply.OrgId, reply.Id,
            target.Conversation?.LastInboundAt, budget, left() * 0.5);
        if (claim.Blocking is { } earlier) return PushOutcome.Refused(TemplateInvites.Blocked(earlier), 63016);

        var options = TwilioSend.Options(target.CustomerAddress, target.Number.Address, target.MessagingServiceSid, statusCallback);
        options.ContentSid = template;
        var result = await TwilioSend.CreateAsync(client, options, Positive(left() * 0.8));
        switch (result)
        {
            case SendResult.Accepted accepted:
                Accepted.Add((accepted.Sid, accepted.Status));
                Record(reply, [accepted.Sid]);
                Invite = new(claim.Id!.Value, TemplateInviteState.Sent, accepted.Sid);
                return PushOutcome.Refused("WhatsApp window closed — a template was sent inviting the customer to reply; when they answer, send your message as a new reply (resending this one repeats this answer).", 63016);
            case SendResult.Unknown unknown:
                // It may have gone out (a template can't be matched in Twilio's list by its text): it counts as sent,
                // rather than risk the customer getting it twice.
                Invite = new(claim.Id!.Value, TemplateInviteState.Unknown, null);
                return PushOutcome.Refused(TemplateInvites.Unknown(unknown.Reason, claim.At), 63016);
            default:
                // Certainly not sent (refused, rate-limited, unreachable): the next reply may try again at once.
                Invite = new(claim.Id!.Value, TemplateInviteState.NotSent, null);
                return PushOutcome.Refused(TwilioErrors.Describe(63016) + " Sending the re-engagement template failed too.", 63016);
        }
    }

    /// <summary>
    /// Whether a reply to <paramref name="target"/> is still held back by the customer's state alone: an SMS customer
    /// opted out, or a WhatsApp window closed. A reply refused for either goes out when Desk pushes it again once the
    /// cause is gone (Replies/ReplyService).
    /// </summary>
    public bool HeldByCustomer(ReplyTarget target) =>
        target.Channel == MessagingChannel.Sms ? target.OptedOut : !WithinWindow(target);

    /// <summary>
    /// Whether the customer's 24-hour window is open with this reply's sender. Meta keeps a window per sender: the one the
    /// customer's latest message opened is with the number they wrote to. When that number is no longer configured and
    /// the reply goes from the org's default sender, the customer never opened one with it, and a free-form reply sent
    /// anyway showed as sent in Desk and failed later with 63016.
    /// </summary>
    private bool WithinWindow(ReplyTarget target) =>
        target.ReplacedNumberId is null && target.Conversation?.LastInboundAt is { } last && time.GetUtcNow().UtcDateTime - last < WhatsAppWindow;

    private static string ReplacedSender(ReplyTarget target) => target.ReplacedNumberId is null ? "" :
        $". The customer wrote to {target.ReplacedAddress ?? "a number"}, which is no longer configured, and not to {target.FromDisplay}, which this reply would go from";

    private static void Record(Reply reply, List<string> sids)
    {
        reply.Sids = JsonSerializer.Serialize(sids);
        reply.FirstSid = sids.FirstOrDefault();
    }

    private static TimeSpan Positive(TimeSpan t) => t > TimeSpan.FromMilliseconds(200) ? t : TimeSpan.FromMilliseconds(200);
}
