using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TwilioChannel.Bench;

/// <summary>
/// A zero-latency Twilio Messages API for one account, hosted in the bench process: POST
/// /2010-04-01/Accounts/{sid}/Messages.json with Basic auth answers 201 and the message resource Twilio returns
/// (tests/fixtures/twilio-message-created.json) with a fresh SID, echoing To/From/Body. Every create is counted and
/// remembered by its Body (the replies scenario makes each Body unique), so a run can check "exactly one message per
/// reply". GET on the same path (the service's reconciliation lists inbound messages every interval) answers an empty
/// page, as Twilio does for a number nobody wrote to; it isn't counted. Anything else is counted as unexpected and
/// answered 404 with Twilio's error JSON.
/// </summary>
internal sealed class FakeTwilioServer(WebApplication app, Uri baseUrl) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, string> _sidsByBody = new(StringComparer.Ordinal);
    private long _creates;
    private long _refused;
    private long _unexpected;
    private string? _firstProblem;

    public Uri BaseUrl { get; } = baseUrl;

    /// <summary>201 answers to create calls so far.</summary>
    public long Creates => Interlocked.Read(ref _creates);

    /// <summary>Create calls refused (wrong account or credentials, no To/Body).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Requests to anything but the create endpoint.</summary>
    public long Unexpected => Interlocked.Read(ref _unexpected);

    public string? FirstProblem => Volatile.Read(ref _firstProblem);

    /// <summary>The SIDs created for this exact Body, in order (empty: none).</summary>
    public string[] SidsFor(string body) => _sidsByBody.TryGetValue(body, out var sids) ? sids.Split(',') : [];

    /// <summary>
    /// Forgets the bodies created so far (the counters stay), once a level's check has read them. Kept for the whole
    /// run, they grew to millions of entries, gigabytes by the last server's turn: every server after the first was
    /// measured beside a load generator whose garbage collections cost more per reply (session 18).
    /// </summary>
    public void ForgetBodies() => _sidsByBody.Clear();

    public static async Task<FakeTwilioServer> StartAsync(int port, string accountSid, string authToken, CancellationToken ct)
    {
        var builder = LoopbackHost.CreateBuilder(port);

        var app = builder.Build();
        var server = new FakeTwilioServer(app, new Uri($"http://127.0.0.1:{port}"));
        var authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{authToken}"));
        app.MapPost("/2010-04-01/Accounts/{sid}/Messages.json", (RequestDelegate)(http => server.CreateAsync(http, accountSid, authorization)));
        app.MapGet("/2010-04-01/Accounts/{sid}/Messages.json", (RequestDelegate)EmptyListAsync);
        app.MapFallback((RequestDelegate)server.UnexpectedAsync);
        await app.StartAsync(ct);
        return server;
    }

    private async Task CreateAsync(HttpContext http, string accountSid, string authorization)
    {
        var request = http.Request;
        if ((string?)http.GetRouteValue("sid") != accountSid || request.Headers.Authorization.ToString() != authorization)
        {
            await RefuseAsync(http, 401, 20003, "Authenticate", $"{request.Method} {request.Path}: wrong account or credentials");
            return;
        }
        if (!request.HasFormContentType)
        {
            await RefuseAsync(http, 400, 20001, "Expected a form body", $"{request.Method} {request.Path}: {request.ContentType}");
            return;
        }

        var form = await request.ReadFormAsync(http.RequestAborted);
        var to = form["To"].ToString();
        var from = form["From"].ToString();
        var body = form["Body"].ToString();
        var service = form["MessagingServiceSid"].ToString();
        if (to.Length == 0 || body.Length == 0 || (from.Length == 0 && service.Length == 0))
        {
            await RefuseAsync(http, 400, 21604, "A 'To' phone number, a 'From' and a 'Body' are required.", $"create without To/From/Body: {string.Join(',', form.Keys)}");
            return;
        }

        var sid = "SM" + Guid.NewGuid().ToString("N");
        _sidsByBody.AddOrUpdate(body, sid, (_, earlier) => earlier + "," + sid);
        Interlocked.Increment(ref _creates);

        var now = DateTime.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
        var uri = $"/2010-04-01/Accounts/{accountSid}/Messages/{sid}";
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("account_sid", accountSid);
            json.WriteString("api_version", "2010-04-01");
            json.WriteString("body", body);
            json.WriteString("date_created", now);
            json.WriteNull("date_sent");
            json.WriteString("date_updated", now);
            json.WriteString("direction", "outbound-api");
            json.WriteNull("error_code");
            json.WriteNull("error_message");
            json.WriteString("from", from.Length > 0 ? from : null);
            json.WriteString("messaging_service_sid", service.Length > 0 ? service : null);
            json.WriteString("num_media", "0");
            json.WriteString("num_segments", "1");
            json.WriteNull("price");
            json.WriteNull("price_unit");
            json.WriteString("sid", sid);
            json.WriteString("status", "queued");
            json.WriteStartObject("subresource_uris");
            json.WriteString("media", uri + "/Media.json");
            json.WriteEndObject();
            json.WriteString("to", to);
            json.WriteString("uri", uri + ".json");
            json.WriteEndObject();
        }
        http.Response.StatusCode = StatusCodes.Status201Created;
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.ContentLength = buffer.WrittenCount;
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }

    /// <summary>Twilio's list page with no messages (the 2010 API's page fields, no next page).</summary>
    private static Task EmptyListAsync(HttpContext http)
    {
        var uri = http.Request.Path + http.Request.QueryString;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["messages"] = Array.Empty<object>(),
            ["first_page_uri"] = uri,
            ["uri"] = uri,
            ["next_page_uri"] = null,
            ["previous_page_uri"] = null,
            ["page"] = 0,
            ["page_size"] = 50,
            ["start"] = 0,
            ["end"] = 0,
        }), http.RequestAborted);
    }

    private Task UnexpectedAsync(HttpContext http)
    {
        Interlocked.Increment(ref _unexpected);
        Interlocked.CompareExchange(ref _firstProblem, $"unexpected {http.Request.Method} {http.Request.Path}{http.Request.QueryString}", null);
        return ErrorAsync(http, 404, 20404, "The requested resource was not found");
    }

    private Task RefuseAsync(HttpContext http, int status, int code, string message, string problem)
    {
        Interlocked.Increment(ref _refused);
        Interlocked.CompareExchange(ref _firstProblem, problem, null);
        return ErrorAsync(http, status, code, message);
    }

    private static Task ErrorAsync(HttpContext http, int status, int code, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["code"] = code,
            ["message"] = message,
            ["more_info"] = $"https://www.twilio.com/docs/errors/{code}",
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
