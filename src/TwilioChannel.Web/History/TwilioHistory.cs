using System.Globalization;
using System.Net;
using Twilio.Base;
using Twilio.Clients;
using Twilio.Exceptions;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Rest.Api.V2010.Account.Message;

namespace TwilioChannel.Web.History;

/// <summary>One page of Twilio's Messages list, and the URL of the next one (null on the last page).</summary>
internal sealed record HistoryPage(IReadOnlyList<MessageResource> Messages, string? NextPageUrl);

/// <summary>Twilio answered in a way a later attempt may fix (429, 5xx, network): the job retries from the same page.</summary>
internal sealed class TwilioTransientException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Reads Twilio's Messages list page by page through the SDK's client (auth, host rewriting) and parser, keeping each
/// page's next-page URL so a backfill can resume from it. Twilio lists newest first, with no total count, and filters
/// DateSent by whole days: callers filter the edges themselves.
/// </summary>
internal static class TwilioHistory
{
    public const int PageSize = 1000;

    /// <summary>The first page of messages to (<paramref name="to"/>) or from (<paramref name="from"/>) an address, sent on or after the day of <paramref name="sinceUtc"/>.</summary>
    public static string FirstPageUrl(string accountSid, string? to, string? from, DateTime sinceUtc, int pageSize = PageSize)
    {
        var query = new List<string>();
        if (to is not null) query.Add("To=" + Uri.EscapeDataString(to));
        if (from is not null) query.Add("From=" + Uri.EscapeDataString(from));
        query.Add("DateSent%3E=" + sinceUtc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        query.Add("PageSize=" + pageSize.ToString(CultureInfo.InvariantCulture));
        return $"https://api.twilio.com/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/Messages.json?{string.Join('&', query)}";
    }

    public static async Task<HistoryPage> FetchAsync(ITwilioRestClient client, string url, CancellationToken ct)
    {
        global::Twilio.Http.Response response;
        try
        {
            response = await client.RequestAsync(new global::Twilio.Http.Request(global::Twilio.Http.HttpMethod.Get, url));
        }
        catch (ApiConnectionException ex)
        {
            throw new TwilioTransientException($"Twilio unreachable while listing messages: {ex.Message}", ex);
        }
        catch (ApiException ex) when (ex.Status is 429 or >= 500)
        {
            throw new TwilioTransientException($"Twilio answered {ex.Status} while listing messages: {ex.Message}", ex);
        }
        ct.ThrowIfCancellationRequested();
        if (response.StatusCode is HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500)
            throw new TwilioTransientException($"Twilio answered {(int)response.StatusCode} while listing messages.");
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"Twilio refused the message list ({(int)response.StatusCode}): {Clip(response.Content)}");

        var page = Page<MessageResource>.FromJson("messages", response.Content);
        return new HistoryPage(page.Records, page.HasNextPage() ? page.GetNextPageUrl(global::Twilio.Rest.Domain.Api) : null);
    }

    /// <summary>Media of a listed message (the list carries only their count); each becomes a MediaUrl{N} as in a webhook.</summary>
    /// <remarks>One call per message with media, so a long history meets Twilio's passing errors here more than anywhere:
    /// a 429, 5xx or network error is transient like the list's own (the job retries the page), not a reason to fail
    /// the whole backfill.</remarks>
    public static async Task<IReadOnlyList<(string Url, string? ContentType)>> MediaAsync(ITwilioRestClient client, string accountSid, string messageSid)
    {
        try
        {
            var media = await MediaResource.ReadAsync(pathMessageSid: messageSid, pathAccountSid: accountSid, client: client);
            return media.Take(10)
                .Select(m => ($"https://api.twilio.com/2010-04-01/Accounts/{accountSid}/Messages/{messageSid}/Media/{m.Sid}", (string?)m.ContentType))
                .ToList();
        }
        catch (ApiConnectionException ex)
        {
            throw new TwilioTransientException($"Twilio unreachable while listing the media of {messageSid}: {ex.Message}", ex);
        }
        catch (ApiException ex) when (ex.Status is 429 or >= 500)
        {
            throw new TwilioTransientException($"Twilio answered {ex.Status} while listing the media of {messageSid}: {ex.Message}", ex);
        }
    }

    private static string Clip(string? text) => text is null ? "" : text.Length <= 300 ? text : text[..300] + "…";
}
