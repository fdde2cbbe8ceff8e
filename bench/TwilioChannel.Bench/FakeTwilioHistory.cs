using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TwilioChannel.Bench;

/// <summary>
/// A synthetic Twilio message history for one number, computed from (direction, index) alone — nothing is held in
/// memory, whatever its size. Half the messages are inbound (customers → the number), half outbound (the number →
/// customers), interleaved in time; index 0 is the newest of its direction, each later index older. Customers are
/// spread over <see cref="Customers"/> numbers.
/// </summary>
internal sealed class SyntheticHistory
{
    public const int Customers = 500;

    private static readonly string[] Phrases =
    [
        "Hi, is my order 48213 on its way? The tracking page hasn't changed since Monday.",
        "Thanks! Could you also send the invoice to my email address, please?",
        "Your order has shipped and should arrive within 2 business days.",
        "Can I change the delivery address to my office? It's 500 Market St, floor 3.",
        "We're sorry for the delay. A replacement is on its way at no extra cost.",
        "Do you have the blue one in size 39? The 38 was too small, unfortunately.",
        "Sure — reply YES to confirm the exchange and we'll email a prepaid label.",
        "YES",
    ];

    public SyntheticHistory(string accountSid, string number, long total, DateTime sinceUtc, DateTime newestUtc)
    {
        AccountSid = accountSid;
        Number = number;
        Total = total;
        Newest = newestUtc;
        // Evenly spread between since (+1 day, so nothing straddles Twilio's whole-day filter) and the newest.
        var span = (newestUtc - sinceUtc.AddDays(1)).Ticks;
        Step = total == 0 ? TimeSpan.FromSeconds(1) : TimeSpan.FromTicks(Math.Clamp(span / Math.Max(1, total), TimeSpan.TicksPerSecond, 300 * TimeSpan.TicksPerSecond));
    }

    public string AccountSid { get; }
    public string Number { get; }
    public long Total { get; }
    public DateTime Newest { get; }
    public TimeSpan Step { get; }

    /// <summary>Messages in a direction: 0 inbound (To = the number), 1 outbound (From = the number).</summary>
    public long Count(int direction) => direction == 0 ? (Total + 1) / 2 : Total / 2;

    public DateTime SentAt(int direction, long index) => Newest - (2 * index + direction) * Step;

    /// <summary>How many of the direction's newest messages were sent on or after <paramref name="since"/>.</summary>
    public long CountSince(int direction, DateTime? since)
    {
        var count = Count(direction);
        if (since is not { } s) return count;
        if (Newest < s) return 0;
        var slots = (Newest - s).Ticks / Step.Ticks; // 2i + d ≤ slots
        return Math.Min(count, slots < direction ? 0 : (slots - direction) / 2 + 1);
    }

    public static string Sid(int direction, long index) => "SM" + (direction == 0 ? "a" : "b") + index.ToString("x31", CultureInfo.InvariantCulture);

    public static string Customer(int direction, long index) =>
        "+1555" + ((index * 7919 + direction * 13) % Customers).ToString("D7", CultureInfo.InvariantCulture);

    public static string Body(long index) => Phrases[index % Phrases.Length] + " (" + index.ToString(CultureInfo.InvariantCulture) + ")";

    public static string Rfc1123(DateTime utc) => utc.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);

    /// <summary>Writes message (direction, index) in the shape of Twilio's Messages list (tests' twilio-messages-page.json).</summary>
    public void Write(Utf8JsonWriter json, int direction, long index)
    {
        var sid = Sid(direction, index);
        var customer = Customer(direction, index);
        var sent = Rfc1123(SentAt(direction, index));
        var uri = $"/2010-04-01/Accounts/{AccountSid}/Messages/{sid}";
        json.WriteStartObject();
        json.WriteString("account_sid", AccountSid);
        json.WriteString("api_version", "2010-04-01");
        json.WriteString("body", Body(index));
        json.WriteString("date_created", sent);
        json.WriteString("date_sent", sent);
        json.WriteString("date_updated", sent);
        json.WriteString("direction", direction == 0 ? "inbound" : "outbound-api");
        json.WriteNull("error_code");
        json.WriteNull("error_message");
        json.WriteString("from", direction == 0 ? customer : Number);
        json.WriteNull("messaging_service_sid");
        json.WriteString("num_media", "0");
        json.WriteString("num_segments", "1");
        json.WriteString("price", "-0.00790");
        json.WriteString("price_unit", "USD");
        json.WriteString("sid", sid);
        json.WriteString("status", direction == 0 ? "received" : "delivered");
        json.WriteStartObject("subresource_uris");
        json.WriteString("media", uri + "/Media.json");
        json.WriteEndObject();
        json.WriteString("to", direction == 0 ? Number : customer);
        json.WriteString("uri", uri + ".json");
        json.WriteEndObject();
    }
}

/// <summary>
/// Twilio's Messages list over a <see cref="SyntheticHistory"/>, hosted in the bench process: GET
/// /2010-04-01/Accounts/{sid}/Messages.json with Basic auth, honouring To= / From= (the number: its inbound or outbound
/// half; anything else: empty), DateSent&gt;= (whole days, as Twilio), PageSize (≤ 1000) and Page, newest first, with a
/// relative next_page_uri carrying Page and a PageToken. Pages are written straight to the response as they are generated.
/// </summary>
internal sealed class FakeTwilioHistoryServer(WebApplication app, Uri baseUrl, SyntheticHistory history) : IAsyncDisposable
{
    private long _pages;
    private long _messages;
    private long _unexpected;
    private string? _firstProblem;

    public Uri BaseUrl { get; } = baseUrl;
    public SyntheticHistory History { get; } = history;
    public long Pages => Interlocked.Read(ref _pages);
    public long Messages => Interlocked.Read(ref _messages);
    public long Unexpected => Interlocked.Read(ref _unexpected);
    public string? FirstProblem => Volatile.Read(ref _firstProblem);

    public static async Task<FakeTwilioHistoryServer> StartAsync(int port, SyntheticHistory history, string authToken, CancellationToken ct)
    {
        var builder = LoopbackHost.CreateBuilder(port);
        var app = builder.Build();
        var server = new FakeTwilioHistoryServer(app, new Uri($"http://127.0.0.1:{port}"), history);
        var authorization = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{history.AccountSid}:{authToken}"));
        app.MapGet("/2010-04-01/Accounts/{sid}/Messages.json", (RequestDelegate)(http => server.ListAsync(http, authorization)));
        app.MapFallback((RequestDelegate)(http => server.ErrorAsync(http, 404, $"unexpected {http.Request.Method} {http.Request.Path}{http.Request.QueryString}")));
        await app.StartAsync(ct);
        return server;
    }

    private async Task ListAsync(HttpContext http, string authorization)
    {
        var request = http.Request;
        if ((string?)http.GetRouteValue("sid") != History.AccountSid || request.Headers.Authorization.ToString() != authorization)
        {
            await ErrorAsync(http, 401, $"{request.Path}: wrong account or credentials");
            return;
        }
        var query = request.Query;
        string to = query["To"].ToString(), from = query["From"].ToString();
        // The direction this query selects; -1: nothing of ours (another number, or no filter at all).
        var direction = to == History.Number && from.Length == 0 ? 0 : from == History.Number && to.Length == 0 ? 1 : -1;
        DateTime? since = null;
        if (query["DateSent>"].ToString() is { Length: > 0 } sinceText)
        {
            if (!DateTime.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed))
            {
                await ErrorAsync(http, 400, $"DateSent> '{sinceText}' isn't a date");
                return;
            }
            since = parsed.Date; // whole days, as Twilio filters
        }
        var pageSize = int.TryParse(query["PageSize"], CultureInfo.InvariantCulture, out var size) ? Math.Clamp(size, 1, 1000) : 50;
        var page = int.TryParse(query["Page"], CultureInfo.InvariantCulture, out var p) && p >= 0 ? p : 0;
        var count = direction < 0 ? 0 : History.CountSince(direction, since);
        var first = (long)page * pageSize;
        var last = Math.Min(count, first + pageSize);

        var basePath = $"/2010-04-01/Accounts/{History.AccountSid}/Messages.json?";
        var filters = new List<string>();
        if (to.Length > 0) filters.Add("To=" + Uri.EscapeDataString(to));
        if (from.Length > 0) filters.Add("From=" + Uri.EscapeDataString(from));
        if (since is { } s) filters.Add("DateSent%3E=" + s.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        filters.Add("PageSize=" + pageSize.ToString(CultureInfo.InvariantCulture));
        string PageUri(int k) => basePath + string.Join('&', filters) + "&Page=" + k.ToString(CultureInfo.InvariantCulture)
            + (k > 0 ? "&PageToken=PA" + (direction < 0 ? "x" : direction == 0 ? "a" : "b") + (first + (k - page) * (long)pageSize).ToString("x31", CultureInfo.InvariantCulture) : "");

        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json; charset=utf-8";
        var writer = http.Response.BodyWriter;
        await using (var json = new Utf8JsonWriter(writer))
        {
            json.WriteStartObject();
            json.WriteNumber("end", Math.Max(first, last - 1));
            json.WriteString("first_page_uri", PageUri(0));
            if (last < count) json.WriteString("next_page_uri", PageUri(page + 1));
            else json.WriteNull("next_page_uri");
            json.WriteNumber("page", page);
            json.WriteNumber("page_size", pageSize);
            if (page > 0) json.WriteString("previous_page_uri", PageUri(page - 1));
            else json.WriteNull("previous_page_uri");
            json.WriteNumber("start", first);
            json.WriteString("uri", PageUri(page));
            json.WriteStartArray("messages");
            for (var i = first; i < last; i++)
            {
                History.Write(json, direction, i);
                if ((i - first) % 100 == 99)
                {
                    await json.FlushAsync(http.RequestAborted);
                    await writer.FlushAsync(http.RequestAborted);
                }
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        await writer.FlushAsync(http.RequestAborted);
        Interlocked.Increment(ref _pages);
        Interlocked.Add(ref _messages, Math.Max(0, last - first));
    }

    private Task ErrorAsync(HttpContext http, int status, string problem)
    {
        Interlocked.Increment(ref _unexpected);
        Interlocked.CompareExchange(ref _firstProblem, problem, null);
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["code"] = status == 401 ? 20003 : 20404,
            ["message"] = status == 401 ? "Authenticate" : "The requested resource was not found",
            ["more_info"] = "https://www.twilio.com/docs/errors/20404",
            ["status"] = status,
        }), http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }
}
