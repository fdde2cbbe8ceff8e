using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TwilioChannel.Bench;

/// <summary>One import call as the fake Desk saw it: when it had fully arrived (Stopwatch timestamp) and its thread count.</summary>
internal readonly record struct ImportCall(long ReceivedAt, int Threads, int Tickets);

/// <summary>
/// A zero-latency Desk Invoke API for one org, hosted in the bench process: POST /api/v1/invoke?orgId=… with the form
/// the service sends (securityContext, requestURL, requestType, headers, connectionLinkName, postBody) and the HASH
/// header (HMAC-SHA256 of the signed text with the extension secret). A well-formed, correctly signed call answers 200
/// {"response":"{\"statusMessage\":\"SUCCESS\"}"} at once; the postBody's data.threads[].extId are recorded with the
/// time the call had fully arrived. Anything else is answered 401/400 and counted as refused.
/// </summary>
internal sealed class FakeDeskServer(WebApplication app, Uri baseUrl, string orgId, string secret, string securityContext, string connectionLinkName) : IAsyncDisposable
{
    private static readonly byte[] Success = Encoding.UTF8.GetBytes("{\"response\":\"{\\\"statusMessage\\\":\\\"SUCCESS\\\"}\"}");

    private readonly ConcurrentDictionary<string, ThreadSeen> _threads = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ImportCall> _calls = new();
    private long _refused;
    private long _continuationThreads;
    private string? _firstProblem;

    /// <summary>A part-1 thread (extId = the message SID): first arrival and how many times it came.</summary>
    internal sealed class ThreadSeen(long firstAt)
    {
        public long FirstAt = firstAt;
        public int Count = 1;
    }

    public Uri BaseUrl { get; } = baseUrl;
    public long Refused => Interlocked.Read(ref _refused);
    public long ContinuationThreads => Interlocked.Read(ref _continuationThreads);
    public string? FirstProblem => Volatile.Read(ref _firstProblem);
    public IReadOnlyCollection<ImportCall> Calls => _calls;
    public ConcurrentDictionary<string, ThreadSeen> Threads => _threads;

    /// <summary>Stopwatch timestamp of the last accepted call (0: none yet).</summary>
    public long LastCallAt;

    public static async Task<FakeDeskServer> StartAsync(int port, string orgId, string secret, string securityContext, string connectionLinkName, CancellationToken ct)
    {
        var builder = LoopbackHost.CreateBuilder(port, kestrel => kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
        // An import of 1,000 threads is a postBody of ~1 MB: above the form reader's default value limit (4 MB) is fine, but be explicit.
        builder.Services.Configure<FormOptions>(f => f.ValueLengthLimit = 64 * 1024 * 1024);
        var app = builder.Build();
        var server = new FakeDeskServer(app, new Uri($"http://127.0.0.1:{port}"), orgId, secret, securityContext, connectionLinkName);
        app.MapPost("/api/v1/invoke", (RequestDelegate)server.InvokeAsync);
        app.MapFallback((RequestDelegate)(http => server.RefuseAsync(http, 404, $"unexpected {http.Request.Method} {http.Request.Path}")));
        await app.StartAsync(ct);
        return server;
    }

    private async Task InvokeAsync(HttpContext http)
    {
        var request = http.Request;
        if (request.Query["orgId"] != orgId || !request.HasFormContentType)
        {
            await RefuseAsync(http, 400, $"invoke with orgId '{request.Query["orgId"]}', content type {request.ContentType}");
            return;
        }
        var form = await request.ReadFormAsync(http.RequestAborted);
        var receivedAt = Stopwatch.GetTimestamp();
        string Field(string name) => form[name].ToString();
        var postBody = Field("postBody");
        var signed = $"requestURL={Field("requestURL")}&requestType={Field("requestType")}&postBody={postBody}&headers={Field("headers")}&connectionLinkName={Field("connectionLinkName")}";
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(signed)));
        if (!string.Equals(request.Headers["HASH"].ToString(), expected, StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(http, 401, "invoke with a wrong HASH");
            return;
        }
        if (Field("securityContext") != securityContext || Field("connectionLinkName") != connectionLinkName || Field("requestType") != "POST"
            || !Field("requestURL").EndsWith("/import", StringComparison.Ordinal))
        {
            await RefuseAsync(http, 401, $"invoke with wrong securityContext/connectionLinkName/request: {Field("requestType")} {Field("requestURL")}");
            return;
        }

        int threads = 0, tickets = 0;
        try
        {
            using var doc = JsonDocument.Parse(postBody);
            var data = doc.RootElement.GetProperty("data");
            tickets = data.GetProperty("tickets").GetArrayLength();
            foreach (var thread in data.GetProperty("threads").EnumerateArray())
            {
                threads++;
                var extId = thread.GetProperty("extId").GetString() ?? "";
                if (extId.Contains('#', StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _continuationThreads); // "SM…#2": a continuation part of a long message
                    continue;
                }
                _threads.AddOrUpdate(extId, _ => new ThreadSeen(receivedAt), (_, seen) =>
                {
                    Interlocked.Increment(ref seen.Count);
                    return seen;
                });
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            await RefuseAsync(http, 400, $"postBody isn't a SYNC_OBJECT with data.tickets and data.threads: {ex.Message}");
            return;
        }
        _calls.Enqueue(new ImportCall(receivedAt, threads, tickets));
        Volatile.Write(ref LastCallAt, receivedAt);

        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.ContentLength = Success.Length;
        await http.Response.Body.WriteAsync(Success, http.RequestAborted);
    }

    private Task RefuseAsync(HttpContext http, int status, string problem)
    {
        Interlocked.Increment(ref _refused);
        Interlocked.CompareExchange(ref _firstProblem, problem, null);
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync($"{{\"errorCode\":\"{(status == 401 ? "UNAUTHORIZED" : "INVALID_DATA")}\",\"message\":\"refused by the bench's fake Desk\"}}", http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }
}
