using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TwilioChannel.Bench;

/// <summary>
/// Desk push payloads for the replies scenario: tests/fixtures/desk-push-reply.json turned into a text/plain SMS reply
/// (≈120 characters) to +14155550123, with a unique resource.id per push that also ends the text, so the fake Twilio
/// can tell the messages apart.
/// </summary>
internal sealed class ReplyPayloads
{
    public const string SmsNumber = "+14155550100";
    public const string Customer = "+14155550123";
    public const string SecurityContext = "bench-context";

    private const string IdMarker = "{id}";
    private const string Text = "Hi Ana! We've changed your order to size 39; it ships today and the tracking code follows by SMS. Ref " + IdMarker + ".";
    private static readonly MediaTypeHeaderValue JsonType = new("application/json") { CharSet = "utf-8" };

    private readonly string _template;
    private readonly string _run = Random.Shared.Next(1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    public ReplyPayloads()
    {
        var push = new JsonObject
        {
            ["configParams"] = new JsonObject { ["defaultNumber"] = SmsNumber },
            ["resource"] = new JsonObject
            {
                ["summary"] = Text,
                ["attachments"] = new JsonArray(),
                ["visibility"] = "public",
                ["author"] = new JsonObject { ["name"] = "Priya Raman", ["email"] = "priya.raman@example.com", ["type"] = "AGENT" },
                ["channel"] = "CUSTOMCHANNEL",
                ["extParentId"] = Customer,
                ["content"] = Text,
                ["hasAttach"] = false,
                ["responderId"] = "12346000000139001",
                ["createdTime"] = "2026-11-25T14:32:09.387Z",
                ["attachmentCount"] = "0",
                ["id"] = IdMarker,
                ["contentType"] = "text/plain",
                ["ticketId"] = "12346000020200007",
            },
        };
        _template = push.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>A Desk-like id: phase (1..16, see RepliesScenario), run, counter. Unique per run and phase.</summary>
    public string Id(int phase, long n) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{phase}{_run}{n:D12}");

    /// <summary>The reply text (what Twilio must receive as Body) of push <paramref name="id"/>.</summary>
    public static string Content(string id) => Text.Replace(IdMarker, id, StringComparison.Ordinal);

    public int ApproximateBytes => Encoding.UTF8.GetByteCount(Json(Id(1, 0)));

    public static int ContentLength => Content(new string('0', 19)).Length;

    public string Json(string id) => _template.Replace(IdMarker, id, StringComparison.Ordinal);

    public HttpRequestMessage Request(Uri url, string id)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Json(id)));
        content.Headers.ContentType = JsonType;
        return new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
    }

    public static Uri PushUrl(Uri server, string securityContext = SecurityContext) =>
        new(server, $"/desk/push?orgId={Payloads.OrgId}&securityContext={Uri.EscapeDataString(securityContext)}");
}

internal sealed record PushAck(string Id, string ExtId);

internal sealed record PushLoadResult(
    int Workers, double WindowSeconds, long Sent, long Ok, long Errors, long ErrorsInWindow, double RepliesPerSecond, LatencySummary Latency,
    CpuUse Cpu, List<PushAck> Acks, List<string> FailedIds, IReadOnlyDictionary<string, int> ErrorKinds);

/// <summary>The replies scenario's closed loop: every push carries a fresh resource.id; answers are kept for the check.</summary>
internal static class PushLoad
{
    /// <summary>
    /// <paramref name="workers"/> workers each push, wait for the answer, push again, for warm-up + duration. Throughput and
    /// latency count the answers that arrive inside the measured window; every answer (warm-up too) is kept.
    /// </summary>
    public static async Task<PushLoadResult> SaturateAsync(ReplyPayloads payloads, Uri url, int phase, int workers, double warmupSeconds,
        double durationSeconds, Func<CpuSample> cpu, CancellationToken ct)
    {
        using var client = Load.CreateClient(workers);
        // Above the service's 30 s push budget: the service answers every push before the client gives up.
        client.Timeout = TimeSpan.FromSeconds(45);
        var start = Stopwatch.GetTimestamp();
        var from = start + (long)(warmupSeconds * Stopwatch.Frequency);
        var to = from + (long)(durationSeconds * Stopwatch.Frequency);
        var next = -1L;
        var errorKinds = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);

        var samples = new CpuSample[2];
        var sampler = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(warmupSeconds), ct);
            samples[0] = cpu();
            var left = to - Stopwatch.GetTimestamp();
            if (left > 0) await Task.Delay(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency), ct);
            samples[1] = cpu();
        }, ct);

        var tasks = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<long>(4096);
            var acks = new List<PushAck>(4096);
            var failed = new List<string>();
            long errorsInWindow = 0;
            while (!ct.IsCancellationRequested)
            {
                var sent = Stopwatch.GetTimestamp();
                if (sent >= to) break;
                var id = payloads.Id(phase, Interlocked.Increment(ref next));
                string? extId = null;
                string? error;
                try
                {
                    using var request = payloads.Request(url, id);
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                    var text = await response.Content.ReadAsStringAsync(ct);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        extId = ExtId(text);
                        error = extId is null ? $"HTTP 200 without an SM extId: {Shorten(text)}" : null;
                    }
                    else
                    {
                        error = $"HTTP {(int)response.StatusCode}: {Message(text)}";
                    }
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    error = $"{ex.GetType().Name}: {ex.Message}";
                }

                var done = Stopwatch.GetTimestamp();
                var inWindow = done >= from && done <= to;
                if (extId is not null)
                {
                    acks.Add(new PushAck(id, extId));
                    if (inWindow) latencies.Add(done - sent);
                }
                else
                {
                    failed.Add(id);
                    errorKinds.AddOrUpdate(error!, 1, (_, n) => n + 1);
                    if (inWindow) errorsInWindow++;
                }
            }
            return (latencies, acks, failed, errorsInWindow);
        }, ct)).ToArray();

        var results = await Task.WhenAll(tasks);
        await sampler;
        var all = results.SelectMany(r => r.latencies).ToArray();
        var acks = results.SelectMany(r => r.acks).ToList();
        var failed = results.SelectMany(r => r.failed).ToList();
        return new PushLoadResult(workers, durationSeconds, acks.Count + failed.Count, acks.Count, failed.Count, results.Sum(r => r.errorsInWindow),
            all.Length / durationSeconds, LatencySummary.From(all), Cpu(samples[0], samples[1]), acks, failed, errorKinds);
    }

    /// <summary>One push, for the sanity checks: status and body.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> PushOnceAsync(HttpClient client, ReplyPayloads payloads, Uri url, string id, CancellationToken ct)
    {
        using var request = payloads.Request(url, id);
        using var response = await client.SendAsync(request, ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    public static string? ExtId(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("extId", out var e)
                && e.ValueKind == JsonValueKind.String && e.GetString() is { } sid && sid.StartsWith("SM", StringComparison.Ordinal) ? sid : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The "message" of an error answer, else the start of the body.</summary>
    private static string Message(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                return Shorten(m.GetString()!);
        }
        catch (JsonException)
        {
            // Not JSON: show it as it is.
        }
        return Shorten(json);
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private static CpuUse Cpu(CpuSample from, CpuSample to)
    {
        var wall = (to.Timestamp - from.Timestamp) / (double)Stopwatch.Frequency;
        if (from.Timestamp == 0 || wall <= 0) return new CpuUse(double.NaN, double.NaN, double.NaN);
        var bench = (to.Bench - from.Bench).TotalSeconds / wall;
        var server = (to.Server - from.Server).TotalSeconds / wall;
        return new CpuUse(bench, server, Math.Max(0, (to.Machine - from.Machine) / wall - bench - server));
    }
}
