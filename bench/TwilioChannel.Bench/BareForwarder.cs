using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Twilio.Clients;
using Twilio.Exceptions;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Types;

namespace TwilioChannel.Bench;

/// <summary>
/// The floor for the reply path, hosted in the bench process: POST /desk/push parses Desk's JSON, forwards one form POST
/// (To, From, Body, StatusCallback) with Basic auth to the Twilio Messages API through an HttpClient, reads the SID
/// from the answer and replies 200 {"extId": sid}. No storage, no caller check, no exactly-once, no SDK.
/// In <see cref="ForwardMode.Sdk"/> the same forward goes through the official Twilio SDK (MessageResource.CreateAsync on
/// one TwilioRestClient, as the service sends): the ceiling for any server that must send with the SDK. In
/// <see cref="ForwardMode.DurableSdk"/> the SDK forward also claims the reply id on disk before sending and writes the SID
/// to disk before answering (DurableClaims): the floor for any server that must send each reply exactly once. In
/// <see cref="ForwardMode.DurableSdkBySid"/> the claims are also findable by their SID (a unique index), as a status
/// callback, which names only the SID, needs: the floor for any server that sends exactly once and keeps statuses.
/// </summary>
internal sealed class BareForwarder(WebApplication app, HttpClient twilio, DurableClaims? claims) : IAsyncDisposable
{
    public static async Task<BareForwarder> StartAsync(int port, Uri twilioBase, string accountSid, string authToken, string from, ForwardMode mode, CancellationToken ct)
    {
        var builder = LoopbackHost.CreateBuilder(port);

        var app = builder.Build();
        var twilio = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var messages = new Uri(twilioBase, $"/2010-04-01/Accounts/{accountSid}/Messages.json");
        var authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{authToken}")));
        var statusCallback = $"http://127.0.0.1:{port}/twilio/status";
        var claims = mode is ForwardMode.DurableSdk or ForwardMode.DurableSdkBySid
            ? new DurableClaims(Path.Combine(Path.GetTempPath(), $"twilio-channel-bench-claims-{Environment.ProcessId}-{port}.db"), indexSids: mode == ForwardMode.DurableSdkBySid)
            : null;
        if (mode != ForwardMode.Bare)
        {
            // The SDK builds absolute api.twilio.com URLs: point them at the fake, as the service's TwilioHostRewriter does.
            var sdkHttp = new HttpClient(new HostRewriter(twilioBase) { InnerHandler = new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) } })
            {
                Timeout = TimeSpan.FromSeconds(30),
            };
            var client = new TwilioRestClient(accountSid, authToken, httpClient: new Twilio.Http.SystemNetHttpClient(sdkHttp));
            var callback = new Uri(statusCallback);
            app.MapPost("/desk/push", (RequestDelegate)(http => ForwardViaSdkAsync(http, client, new PhoneNumber(from), callback, claims)));
        }
        else app.MapPost("/desk/push", (RequestDelegate)(http => ForwardAsync(http, twilio, messages, authorization, from, statusCallback)));
        await app.StartAsync(ct);
        return new BareForwarder(app, twilio, claims);
    }

    private static async Task ForwardAsync(HttpContext http, HttpClient twilio, Uri messages, AuthenticationHeaderValue authorization, string from, string statusCallback)
    {
        if (await ReadPushAsync(http) is not var (_, to, body)) return;

        using var request = new HttpRequestMessage(HttpMethod.Post, messages)
        {
            Content = new FormUrlEncodedContent(
            [
                KeyValuePair.Create("To", to),
                KeyValuePair.Create("From", from),
                KeyValuePair.Create("Body", body),
                KeyValuePair.Create("StatusCallback", statusCallback),
            ]),
        };
        request.Headers.Authorization = authorization;
        string? sid;
        try
        {
            using var response = await twilio.SendAsync(request, http.RequestAborted);
            if (!response.IsSuccessStatusCode)
            {
                await AnswerAsync(http, 502, "message", $"Twilio answered HTTP {(int)response.StatusCode}.");
                return;
            }
            await using var stream = await response.Content.ReadAsStreamAsync(http.RequestAborted);
            using var message = await JsonDocument.ParseAsync(stream, cancellationToken: http.RequestAborted);
            sid = message.RootElement.TryGetProperty("sid", out var s) ? s.GetString() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            await AnswerAsync(http, 502, "message", $"Twilio call failed: {ex.GetType().Name}: {ex.Message}");
            return;
        }
        if (sid is null) await AnswerAsync(http, 502, "message", "Twilio's answer has no sid.");
        else await AnswerAsync(http, 200, "extId", sid);
    }

    private static async Task ForwardViaSdkAsync(HttpContext http, ITwilioRestClient client, PhoneNumber from, Uri statusCallback, DurableClaims? claims)
    {
        if (await ReadPushAsync(http) is not var (id, to, body)) return;
        if (claims is not null && !await claims.ClaimAsync(id))
        {
            // The bench never repeats a push; a real server would answer the stored outcome here.
            await AnswerAsync(http, 409, "message", "This reply was claimed before.");
            return;
        }

        try
        {
            var message = await MessageResource.CreateAsync(new CreateMessageOptions(new PhoneNumber(to)) { From = from, Body = body, StatusCallback = statusCallback }, client);
            if (claims is not null) await claims.CompleteAsync(id, message.Sid);
            await AnswerAsync(http, 200, "extId", message.Sid);
        }
        catch (Exception ex) when (ex is ApiException or ApiConnectionException or TaskCanceledException)
        {
            await AnswerAsync(http, 502, "message", $"Twilio call failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>The reply id, the customer and the text of Desk's push; null once a 400 is answered.</summary>
    private static async Task<(string Id, string To, string Body)?> ReadPushAsync(HttpContext http)
    {
        try
        {
            using var push = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            var resource = push.RootElement.GetProperty("resource");
            return (resource.GetProperty("id").GetString() ?? "", resource.GetProperty("extParentId").GetString() ?? "", resource.GetProperty("content").GetString() ?? "");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            await AnswerAsync(http, 400, "message", "The body must be Desk's push payload as JSON.");
            return null;
        }
    }

    private sealed class HostRewriter(Uri target) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.RequestUri = new UriBuilder(request.RequestUri!) { Scheme = target.Scheme, Host = target.Host, Port = target.Port }.Uri;
            return base.SendAsync(request, cancellationToken);
        }
    }

    private static async Task AnswerAsync(HttpContext http, int status, string name, string value)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(http.Response.Body);
        json.WriteStartObject();
        json.WriteString(name, value);
        json.WriteEndObject();
        await json.FlushAsync(http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
        twilio.Dispose();
        claims?.Dispose();
    }
}

/// <summary>What a forwarder does besides forwarding (see <see cref="BareForwarder"/>).</summary>
internal enum ForwardMode
{
    Bare,
    Sdk,
    DurableSdk,
    DurableSdkBySid,
}
