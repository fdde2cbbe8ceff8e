using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TwilioChannel.Bench;

/// <summary>
/// The floor: a bare ASP.NET Core endpoint, hosted in the bench process, doing what the webhook must do at minimum —
/// read the form, check X-Twilio-Signature (HMAC-SHA1 of URL + sorted params, constant-time compare), answer empty
/// TwiML. No storage, no filters, no DI scopes.
/// With a <see cref="DurableJournal"/> (the "durable baseline"), each verified form is also written to it as JSON and
/// answered only once it is on the disk: the floor for any endpoint that acks after a durable write.
/// </summary>
internal sealed class BaselineServer(WebApplication app, DurableJournal? journal) : IAsyncDisposable
{
    private const string EmptyTwiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

    public static async Task<BaselineServer> StartAsync(int port, IReadOnlyDictionary<string, string> authTokens, string? journalPath, CancellationToken ct)
    {
        var builder = LoopbackHost.CreateBuilder(port);

        var app = builder.Build();
        var publicBase = $"http://127.0.0.1:{port}";
        var keys = authTokens.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetBytes(kv.Value), StringComparer.Ordinal);
        var journal = journalPath is null ? null : new DurableJournal(journalPath);
        app.MapPost(Payloads.Path, (RequestDelegate)(http => ReceiveAsync(http, publicBase, keys, journal)));
        await app.StartAsync(ct);
        return new BaselineServer(app, journal);
    }

    private static async Task ReceiveAsync(HttpContext http, string publicBase, Dictionary<string, byte[]> keys, DurableJournal? journal)
    {
        var request = http.Request;
        var signature = request.Headers["X-Twilio-Signature"].ToString();
        if (signature.Length == 0 || !request.HasFormContentType)
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(http.RequestAborted);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (!keys.TryGetValue(form["AccountSid"].ToString(), out var key)
            || !IsValid(key, publicBase + request.PathBase.ToUriComponent() + request.Path.ToUriComponent() + request.QueryString.ToUriComponent(), form, signature))
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        if (journal is not null)
        {
            var fields = new Dictionary<string, string>(form.Count, StringComparer.Ordinal);
            foreach (var (name, value) in form) fields[name] = value.ToString();
            await journal.AppendAsync(JsonSerializer.SerializeToUtf8Bytes(fields));
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/xml; charset=utf-8";
        await http.Response.WriteAsync(EmptyTwiml, http.RequestAborted);
    }

    /// <summary>Twilio's scheme: URL, then each POST parameter name and value, sorted by name; HMAC-SHA1; base64.</summary>
    private static bool IsValid(byte[] key, string url, IFormCollection form, string signature)
    {
        var data = new StringBuilder(url, 1024);
        foreach (var name in form.Keys.Order(StringComparer.Ordinal))
            foreach (var value in form[name])
                data.Append(name).Append(value);

        Span<byte> expected = stackalloc byte[HMACSHA1.HashSizeInBytes];
        HMACSHA1.HashData(key, Encoding.UTF8.GetBytes(data.ToString()), expected);
        Span<byte> given = stackalloc byte[64];
        return Convert.TryFromBase64String(signature, given, out var length)
            && length == expected.Length
            && CryptographicOperations.FixedTimeEquals(expected, given[..length]);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
        journal?.Dispose();
    }
}
