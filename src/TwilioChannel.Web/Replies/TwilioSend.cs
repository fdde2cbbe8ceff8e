using Twilio.Clients;
using Twilio.Exceptions;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Types;

namespace TwilioChannel.Web.Replies;

/// <summary>The outcome of one Messages API create call, classified by what we know about it.</summary>
internal abstract record SendResult
{
    public sealed record Accepted(string Sid, string Status) : SendResult;

    /// <summary>Twilio refused it (4xx): certainly not sent.</summary>
    public sealed record Refused(int? Code, string? Message) : SendResult;

    /// <summary>Certainly not processed (connection refused, 429 after retries): safe to report, nothing went out.</summary>
    public sealed record NotSent(string Reason, int? Code) : SendResult;

    /// <summary>5xx or timeout: Twilio may or may not have created the message.</summary>
    public sealed record Unknown(string Reason) : SendResult;
}

/// <summary>One send through the official SDK, with the error classification the exactly-once rule needs.</summary>
internal static class TwilioSend
{
    public static async Task<SendResult> CreateAsync(ITwilioRestClient client, CreateMessageOptions options, TimeSpan timeout)
    {
        // The call ends with the wait: left running, it could still create the message after a resend.
        using var deadline = Twilio.TwilioCallDeadline.Start(timeout);
        try
        {
            var message = await MessageResource.CreateAsync(options, client).WaitAsync(deadline.Token);
            return new SendResult.Accepted(message.Sid, message.Status?.ToString() ?? "queued");
        }
        catch (ApiException e) when (e.Status == 429)
        {
            return new SendResult.NotSent("Twilio is rate-limiting this account", e.Code == 0 ? 20429 : e.Code);
        }
        catch (ApiException e) when (e.Status is >= 400 and < 500)
        {
            return new SendResult.Refused(e.Code == 0 ? null : e.Code, e.Message);
        }
        catch (ApiException e)
        {
            return new SendResult.Unknown($"Twilio answered HTTP {e.Status}");
        }
        catch (ApiConnectionException e) when (e.InnerException is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
        {
            return new SendResult.NotSent("Twilio could not be reached", null);
        }
        catch (Exception e) when (e is ApiConnectionException or TimeoutException or OperationCanceledException)
        {
            return new SendResult.Unknown("Twilio did not answer in time");
        }
    }

    public static CreateMessageOptions Options(string to, string? from, string? messagingServiceSid, Uri statusCallback)
    {
        var options = new CreateMessageOptions(new PhoneNumber(to)) { StatusCallback = statusCallback };
        if (messagingServiceSid is not null) options.MessagingServiceSid = messagingServiceSid;
        else options.From = new PhoneNumber(from);
        return options;
    }

    /// <summary>
    /// After an unknown outcome: did Twilio create it anyway? Lists the newest messages to the customer (from the
    /// sender) and matches the body, created since <paramref name="since"/> (less a minute of clock skew). A list that
    /// can't be read is not "not found": sending then could make a second copy. A match may be another reply's message
    /// with the same words: the caller leaves those out.
    /// No DateSent filter: a message Twilio accepted but still holds (queued in the sender's queue, accepted by a
    /// Messaging Service) has no date_sent yet, so the filter hid exactly the message a 5xx may have created, and it
    /// went out twice. The body is compared by its letters and digits too: with Smart Encoding on, Twilio stores an
    /// SMS with typographic quotes, dashes and ellipses replaced, and an exact comparison missed it the same way.
    /// </summary>
    public static async Task<Lookup> FindRecentAsync(ITwilioRestClient client, string to, string? from, string? messagingServiceSid, string body, DateTime since, TimeSpan timeout)
    {
        using var deadline = Twilio.TwilioCallDeadline.Start(timeout);
        try
        {
            var read = new ReadMessageOptions { To = new PhoneNumber(to), PageSize = 50, Limit = 50 };
            if (messagingServiceSid is null) read.From = new PhoneNumber(from);
            var page = await MessageResource.ReadAsync(read, client).WaitAsync(deadline.Token);
            return new Lookup(Answered: true, page.Where(m =>
                SameText(m.Body, body)
                && (m.DateCreated is null || m.DateCreated >= since.AddMinutes(-1))
                && (messagingServiceSid is null || m.MessagingServiceSid == messagingServiceSid)).Select(m => m.Sid).ToList());
        }
        catch (Exception e) when (e is ApiException or ApiConnectionException or TimeoutException or OperationCanceledException)
        {
            return new Lookup(Answered: false, []);
        }
    }

    /// <summary>The same text, or the same letters and digits in the same order (what Smart Encoding leaves alone).</summary>
    internal static bool SameText(string? stored, string sent) =>
        stored == sent || (stored is not null && LettersAndDigits(stored) is { Length: > 0 } kept && kept == LettersAndDigits(sent));

    private static string LettersAndDigits(string text) => string.Concat(text.Where(char.IsLetterOrDigit));

    /// <summary>Whether Twilio's list answered, and the SIDs of the messages that match, newest first. Only the caller
    /// can tell which of them another reply of ours sent (Replies/ReplySender).</summary>
    public sealed record Lookup(bool Answered, IReadOnlyList<string> Matches);
}
