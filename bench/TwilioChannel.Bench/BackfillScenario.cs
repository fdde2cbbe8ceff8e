using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace TwilioChannel.Bench;

/// <summary>
/// --scenario backfill: history backfill throughput and memory. For each --sizes N, a fake Twilio in this process
/// (FakeTwilioHistory.cs) serves a synthetic history of N messages for one SMS number, 1,000 per page, newest first.
/// Baseline: a bare loop that pages through the same URLs with HttpClient and parses each page into records
/// (System.Text.Json), both directions. Then a fresh service process backfills the number (admin API), polled until
/// completed (listed, stored, routed). Throughput = N / elapsed for both; peak RSS (VmHWM) of each service process.
/// </summary>
internal sealed class BackfillRun(BenchOptions options) : IBenchRun
{
    public const string Number = "+14155550100";
    private const string Since = "2026-01-01";
    private const int BarePasses = 3;

    private readonly ScenarioContext _ctx = new(options, "backfill");
    private readonly List<string> _notes = [];

    public void KillService() => _ctx.Service?.KillNow();

    private sealed record SizeResult(int Size, double BareSeconds, long BareMessages, double SdkSeconds, double? ServiceSeconds, double? ListingSeconds, double? FirstPageSeconds,
        long? Fetched, long? Stored, long? Routed, int? Pages, long? RssBefore, long? PeakRss, long PagesServed, string? Problem);

    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (!_ctx.CheckWebDll()) return 2;
        Console.WriteLine($"Backfill bench: {Environment.ProcessorCount} CPUs; sizes {string.Join(", ", options.Sizes.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))}; "
            + "fake Twilio and bare loop in this process.");
        var since = DateTime.SpecifyKind(DateTime.Parse(Since, CultureInfo.InvariantCulture), DateTimeKind.Utc);
        // Newest message two days ago: the reconciliation job (which lists since the number was added) finds nothing.
        var newest = DateTime.UtcNow.Date.AddDays(-2).AddHours(12);

        var results = new List<SizeResult>();
        var failed = false;
        foreach (var size in options.Sizes)
        {
            var history = new SyntheticHistory(Payloads.AccountSid, Number, size, since, newest);
            await using var twilio = await FakeTwilioHistoryServer.StartAsync(BenchRun.FreePort(), history, Payloads.AuthToken, ct);
            Console.WriteLine($"[twilio] {size:N0} messages ({history.Count(0):N0} inbound, {history.Count(1):N0} outbound, one every {history.Step.TotalSeconds:0} s) on {twilio.BaseUrl}");

            // Warm the fake server and the bare loop's code paths (tiered JIT: ≥ 3 s of paging), then measure the bare loop.
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed < TimeSpan.FromSeconds(3)) await BareLoopAsync(twilio.BaseUrl, history, since, ct, maxPages: 50);
            // Three timed passes; the median one is the baseline (the machine is shared: one pass can be disturbed).
            var passes = new List<(double Seconds, long Messages)>();
            for (var pass = 0; pass < BarePasses; pass++)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                var bare = Stopwatch.StartNew();
                var messages = await BareLoopAsync(twilio.BaseUrl, history, since, ct);
                passes.Add((bare.Elapsed.TotalSeconds, messages));
            }
            var (bareSeconds, bareMessages) = passes.OrderBy(p => p.Seconds).ElementAt(BarePasses / 2);
            Console.WriteLine($"[bare] {bareMessages:N0} messages in {bareSeconds:0.00} s = {bareMessages / bareSeconds:N0}/s (median of "
                + $"{string.Join(" / ", passes.Select(p => p.Seconds.ToString("0.00", CultureInfo.InvariantCulture)))} s)");
            // A second reference, for context: the same loop parsing each page with the Twilio SDK (Page<MessageResource>.FromJson),
            // which the service must use for listing. The gap between the two loops is the SDK's parser alone.
            var sdkPasses = new List<double>();
            for (var pass = 0; pass < BarePasses; pass++)
            {
                var sdk = Stopwatch.StartNew();
                await BareLoopAsync(twilio.BaseUrl, history, since, ct, sdkParse: true);
                sdkPasses.Add(sdk.Elapsed.TotalSeconds);
            }
            var sdkSeconds = sdkPasses.Order().ElementAt(BarePasses / 2);
            Console.WriteLine($"[sdk loop] {bareMessages:N0} messages in {sdkSeconds:0.00} s = {bareMessages / sdkSeconds:N0}/s (median)");
            var servedBefore = twilio.Pages;

            var result = await ServiceAsync(twilio, size, bareSeconds, bareMessages, ct) with { SdkSeconds = sdkSeconds };
            result = result with { PagesServed = twilio.Pages - servedBefore };
            failed |= result.Problem is not null || bareMessages != size;
            results.Add(result);
            if (twilio.Unexpected > 0) _notes.Add($"N={size:N0}: the fake Twilio refused {twilio.Unexpected} requests (first: {twilio.FirstProblem}).");
        }

        var md = await _ctx.HeaderAsync("Backfill benchmark (history from a fake Twilio)", ct);
        Markdown(md, results);
        await _ctx.WriteAsync(md, ct);
        return failed ? 1 : 0;
    }

    private async Task<SizeResult> ServiceAsync(FakeTwilioHistoryServer twilio, int size, double bareSeconds, long bareMessages, CancellationToken ct)
    {
        var port = BenchRun.FreePort();
        var logFile = _ctx.LogFile($"service-{size}");
        Console.WriteLine($"[service] starting a fresh service on http://127.0.0.1:{port} (log: {logFile})");
        var service = ServiceProcess.Start(_ctx.WebDll, port, logFile, new Dictionary<string, string>
        {
            ["Twilio__ApiBaseUrl"] = twilio.BaseUrl.GetLeftPart(UriPartial.Authority),
            // Hangfire's idle workers look for jobs this often: the default 1 s would add up to a second to the start.
            ["Jobs__PollIntervalMilliseconds"] = "100",
            ["Twilio__ReconcileIntervalSeconds"] = "1800",
        });
        _ctx.Service = service;
        var notes = new List<string>();
        double? firstPage = null;
        try
        {
            await service.WaitReadyAsync(TimeSpan.FromSeconds(90), ct);
            await service.PostAdminAsync("/api/admin/twilio-accounts", new { accountSid = Payloads.AccountSid, authToken = Payloads.AuthToken }, ct);
            // No connectionLinkName: import is off, the routed history waits for Desk's pull (the pull scenario measures that).
            await service.PostAdminAsync("/api/admin/installations", new { orgId = Payloads.OrgId, securityContext = "bench-backfill-context" }, ct);
            var number = await service.PostAdminAsync("/api/admin/numbers", new { address = Number, accountSid = Payloads.AccountSid, orgId = Payloads.OrgId }, ct);
            await Task.Delay(1000, ct); // let start-up work (reconcile scheduling, Hangfire's first polls) settle
            var rssBefore = service.RssBytes;

            var timer = Stopwatch.StartNew();
            var started = await service.PostAdminAsync($"/api/admin/numbers/{number.GetProperty("id").GetInt64()}/backfill", new { since = Since }, ct);
            var id = started.GetProperty("id").GetInt64();
            double? listing = null;
            var timeout = TimeSpan.FromSeconds(120 + size / 250.0);
            JsonElement status;
            var lastPrint = Stopwatch.StartNew();
            while (true)
            {
                status = await service.Admin.GetFromJsonAsync<JsonElement>($"/api/admin/backfills/{id}", ct);
                var state = status.GetProperty("state").GetString();
                if (listing is null && state is "releasing" or "completed") listing = timer.Elapsed.TotalSeconds;
                if (firstPage is null && status.GetProperty("pagesFetched").GetInt32() > 0) firstPage = timer.Elapsed.TotalSeconds;
                if (state is "completed" or "failed" or "cancelled") break;
                if (timer.Elapsed > timeout)
                    return Result(null, listing, status, rssBefore, service.PeakRssBytes, $"not completed within {timeout.TotalSeconds:0} s (state {state})");
                if (lastPrint.Elapsed > TimeSpan.FromSeconds(10))
                {
                    Console.WriteLine($"[service]   {timer.Elapsed.TotalSeconds:0} s: {state}, pages {status.GetProperty("pagesFetched").GetInt32()}, "
                        + $"stored {status.GetProperty("messagesStored").GetInt64():N0}, routed {status.GetProperty("messagesRouted").GetInt64():N0}, RSS {ScenarioContext.Mb(service.RssBytes)}");
                    lastPrint.Restart();
                }
                await Task.Delay(100, ct);
            }
            var seconds = timer.Elapsed.TotalSeconds;
            var peak = service.PeakRssBytes;
            var finalState = status.GetProperty("state").GetString();
            Console.WriteLine($"[service] {finalState} in {seconds:0.00} s = {size / seconds:N0}/s (listing {listing:0.00} s); peak RSS {ScenarioContext.Mb(peak)}");
            string? problem = finalState != "completed" ? $"backfill {finalState}: {status.GetProperty("error")}" : null;
            var result = Result(seconds, listing, status, rssBefore, peak, problem);
            if (problem is null && (result.Fetched != size || result.Stored != size || result.Routed != size))
                result = result with { Problem = $"fetched {result.Fetched:N0}, stored {result.Stored:N0}, routed {result.Routed:N0} of {size:N0}" };
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            Console.Error.WriteLine($"[service] aborted: {ex}");
            return new SizeResult(size, bareSeconds, bareMessages, 0, null, null, null, null, null, null, null, null, service.PeakRssBytes, 0, $"{ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            await _ctx.StopServiceAsync(service, notes, logFile);
            _notes.AddRange(notes.Select(n => $"N={size:N0}: {n}"));
        }

        SizeResult Result(double? seconds, double? listing, JsonElement s, long? before, long? peak, string? problem) => new(size, bareSeconds, bareMessages, 0, seconds, listing, firstPage,
            s.GetProperty("messagesFetched").GetInt64(), s.GetProperty("messagesStored").GetInt64(), s.GetProperty("messagesRouted").GetInt64(),
            s.GetProperty("pagesFetched").GetInt32(), before, peak, 0, problem);
    }

    private sealed record TwilioMessage(string Sid, string AccountSid, string From, string To, string Body, string Direction, string Status,
        string DateCreated, string? DateSent, string NumMedia, string? MessagingServiceSid, string? Price, string? PriceUnit);

    private sealed record TwilioPage(List<TwilioMessage> Messages, string? NextPageUri, int Page, int PageSize);

    private static readonly JsonSerializerOptions Snake = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// The baseline: what any backfill must do at the least — page through both directions' lists with one HttpClient
    /// (Basic auth, the service's first-page URLs, then each next_page_uri), deserialize each page into records, and
    /// keep the messages sent since the start date. Nothing is stored. Returns the messages kept.
    /// </summary>
    private static async Task<long> BareLoopAsync(Uri twilio, SyntheticHistory history, DateTime since, CancellationToken ct, int maxPages = int.MaxValue, bool sdkParse = false)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = twilio, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{history.AccountSid}:{Payloads.AuthToken}")));
        long kept = 0;
        var pages = 0;
        foreach (var filter in new[] { "To=" + Uri.EscapeDataString(history.Number), "From=" + Uri.EscapeDataString(history.Number) })
        {
            string? next = $"/2010-04-01/Accounts/{history.AccountSid}/Messages.json?{filter}&DateSent%3E={since:yyyy-MM-dd}&PageSize=1000";
            while (next is not null && pages++ < maxPages)
            {
                using var response = await http.GetAsync(next, HttpCompletionOption.ResponseHeadersRead, ct);
                response.EnsureSuccessStatusCode();
                if (sdkParse)
                {
                    var sdkPage = global::Twilio.Base.Page<global::Twilio.Rest.Api.V2010.Account.MessageResource>.FromJson("messages", await response.Content.ReadAsStringAsync(ct));
                    kept += sdkPage.Records.Count(m => (m.DateSent ?? m.DateCreated) >= since);
                    next = sdkPage.HasNextPage() ? new Uri(sdkPage.GetNextPageUrl(global::Twilio.Rest.Domain.Api)).PathAndQuery : null;
                    continue;
                }
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                var page = await JsonSerializer.DeserializeAsync<TwilioPage>(body, Snake, ct) ?? throw new InvalidOperationException("Empty page.");
                foreach (var m in page.Messages)
                {
                    var sent = DateTime.ParseExact(m.DateSent ?? m.DateCreated, "ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture,
                        DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                    if (sent >= since) kept++;
                }
                next = page.NextPageUri;
            }
        }
        return kept;
    }

    private void Markdown(StringBuilder md, List<SizeResult> results)
    {
        md.AppendLine($"- History: a fake Twilio Messages list in the bench process, generated from the page index (nothing held in memory): N messages for {Number}, "
            + $"half inbound (To=), half outbound (From=), {SyntheticHistory.Customers} customers, newest first, 1,000 per page, since {Since}; "
            + "Twilio's JSON shape (RFC 1123 dates, relative next_page_uri with Page and PageToken).");
        md.AppendLine("- **Baseline: a bare loop in the bench process** pages through the same URLs with one HttpClient and deserializes each page into records "
            + "(System.Text.Json), keeping the messages since the start date; it stores nothing. Warmed up for 3 s (up to 50 pages per pass), then "
            + $"{BarePasses} timed passes: the median one is the baseline.");
        md.AppendLine("- Service: a fresh process per size (Release, fresh data folder, Jobs:PollIntervalMilliseconds=100), account + installation (import off) + number "
            + $"through the admin API, then POST /api/admin/numbers/{{id}}/backfill {{\"since\":\"{Since}\"}}, polled every 100 ms until completed "
            + "(listed and stored, then every message routed into conversations and the feed). Peak RSS = VmHWM of the service process at completion.");
        md.AppendLine("- **The fake Twilio (and the bare loop) share the 2 CPUs with the service**; absolute numbers are a floor.");
        md.AppendLine();
        md.AppendLine("- Context (not the target): the same loop parsing pages with the Twilio SDK's Page<MessageResource>.FromJson (Newtonsoft), which the "
            + "service must use for listing; median of 3 passes.");
        md.AppendLine();
        md.AppendLine("| N | bare loop msg/s | service msg/s (POST → completed) | **service ÷ bare** | service listing phase msg/s | listing ÷ bare | SDK-parse loop msg/s | listing ÷ SDK loop | pages | RSS before | peak RSS |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var bare = r.BareMessages / r.BareSeconds;
            var service = r.ServiceSeconds is { } s ? r.Size / s : double.NaN;
            var listing = r.ListingSeconds is { } l ? r.Size / l : double.NaN;
            md.AppendLine($"| {r.Size:N0} | {bare:N0} | {(double.IsNaN(service) ? "—" : service.ToString("N0", CultureInfo.InvariantCulture))} | **{Ratio(service, bare)}** | "
                + $"{(double.IsNaN(listing) ? "—" : listing.ToString("N0", CultureInfo.InvariantCulture))} | {Ratio(listing, bare)} | "
                + $"{r.BareMessages / r.SdkSeconds:N0} | {Ratio(listing, r.BareMessages / r.SdkSeconds)} | {r.Pages?.ToString(CultureInfo.InvariantCulture) ?? "—"} | "
                + $"{ScenarioContext.Mb(r.RssBefore)} | {ScenarioContext.Mb(r.PeakRss)} |");
        }
        md.AppendLine();
        var ratios = results.Where(r => r.ServiceSeconds is not null).Select(r => r.Size / r.ServiceSeconds!.Value / (r.BareMessages / r.BareSeconds)).ToList();
        if (ratios.Count > 0)
            md.AppendLine($"Target: service ≥ 0.5 × the bare loop — **{(ratios.All(x => x >= 0.5) ? "met" : "not met")}** (lowest {ratios.Min():0.00}×).");
        var small = results.Where(r => r.PeakRss is not null && r.Problem is null).MinBy(r => r.Size);
        var large = results.Where(r => r.PeakRss is not null && r.Problem is null).MaxBy(r => r.Size);
        if (small is not null && large is not null && large.Size > small.Size)
        {
            var ratio = (double)large.PeakRss!.Value / small.PeakRss!.Value;
            md.AppendLine($"Peak RSS {large.Size:N0} ÷ {small.Size:N0}: **{ratio:0.00}×** — target ≤ 1.2× **{(ratio <= 1.2 ? "met" : "not met")}**"
                + (large.Size < 1_000_000 ? " (the target is stated for 1,000,000 vs 10,000; this run used smaller sizes)." : "."));
        }
        md.AppendLine();
        md.AppendLine("## Notes");
        md.AppendLine();
        foreach (var r in results)
        {
            md.AppendLine($"- N={r.Size:N0}: bare loop {r.BareMessages:N0} messages in {r.BareSeconds:0.00} s (median pass); service {r.ServiceSeconds?.ToString("0.00", CultureInfo.InvariantCulture) ?? "—"} s "
                + $"(first page stored after {r.FirstPageSeconds?.ToString("0.00", CultureInfo.InvariantCulture) ?? "—"} s, listing and storing done at {r.ListingSeconds?.ToString("0.00", CultureInfo.InvariantCulture) ?? "—"} s, routing the rest); fetched {r.Fetched:N0}, stored {r.Stored:N0}, routed {r.Routed:N0}; "
                + $"the fake Twilio served {r.PagesServed} pages to the service."
                + (r.Problem is { } p ? $" **Problem: {p}.**" : ""));
        }
        foreach (var note in _notes) md.AppendLine($"- {note}");
    }

    private static string Ratio(double a, double b) => double.IsNaN(a) || b <= 0 ? "—" : (a / b).ToString("0.00", CultureInfo.InvariantCulture) + "×";
}
