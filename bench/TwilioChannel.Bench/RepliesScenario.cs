using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;

namespace TwilioChannel.Bench;

/// <summary>What one server did in the replies scenario, and whether its answers check out against the fake Twilio.</summary>
internal sealed class ReplyServerRun(string name)
{
    public string Name { get; } = name;
    /// <summary>Each concurrency level's closed loop, in order.</summary>
    public List<(int Workers, PushLoadResult Load)> Levels { get; } = [];

    /// <summary>The level with the most replies per second: this server's saturation.</summary>
    public (int Workers, PushLoadResult Load)? Peak => Levels.Count == 0 ? null : Levels.MaxBy(l => l.Load.RepliesPerSecond);
    public List<string> Notes { get; } = [];
    public bool Failed { get; set; }
}

/// <summary>
/// --scenario replies: Desk pushes (POST /desk/push) to the real service (child process, Twilio SDK, exactly-once
/// bookkeeping in its database) and to a bare forwarder (BareForwarder.cs), both sending to one zero-latency fake Twilio
/// (FakeTwilioServer.cs) in this process. Closed loop at each concurrency level in turn (a server whose answer waits for
/// two disk flushes needs more pushes in flight than a bare forwarder to be saturated; each server's rate is its peak),
/// a unique resource.id per push; after each level every 200 is checked against the messages the fake Twilio created:
/// one per push, with the SID the push answered.
/// </summary>
internal sealed class RepliesRun(BenchOptions options) : IBenchRun
{
    private static readonly int[] DefaultLevels = [32, 64, 128];
    private const int PushTimeoutSeconds = 30;
    /// <summary>Push ids start with a phase: sanity pushes, then one per level for each server.</summary>
    private const int SanityPhase = 1, BarePhase = 2, ServicePhase = 5, SdkPhase = 8, DurablePhase = 11, BySidPhase = 14, MaxLevels = 3;
    private const string SdkForwarder = "SDK forwarder", DurableForwarder = "durable SDK forwarder", BySidForwarder = "durable SDK forwarder, SIDs indexed";

    private readonly DateTime _started = DateTime.UtcNow;
    private readonly ReplyPayloads _payloads = new();
    private ServiceProcess? _service;

    private IReadOnlyList<int> Levels => options.ConcurrencyGiven ? options.ConcurrencyLevels : DefaultLevels;

    /// <summary>
    /// 45 s unless --warmup says otherwise. The service's JIT compiles ≈500 methods a second for ≈30 s after it starts
    /// (EF Core, the Twilio SDK, Newtonsoft, the HTTP stack: counted with DOTNET_JitStdOutFile), and profiles taken
    /// 20 s in had the JIT thread at 14 % of the service's CPU: a 15 s warm-up measured that transient, not the push.
    /// </summary>
    private double Warmup => options.WarmupGiven ? options.WarmupSeconds : DefaultWarmupSeconds;

    private const double DefaultWarmupSeconds = 45;

    public void KillService() => _service?.KillNow();

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var root = BenchRun.RepositoryRoot();
        var resultsDir = Path.GetFullPath(options.ResultsDir ?? Path.Combine(root ?? ".", "bench", "results"));
        var webDll = Path.GetFullPath(options.WebDll ?? Path.Combine(root ?? ".", "src", "TwilioChannel.Web", "bin", "Release", "net10.0", "TwilioChannel.Web.dll"));
        var stamp = _started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        Directory.CreateDirectory(resultsDir);
        if (options.RunService && !File.Exists(webDll))
        {
            Console.Error.WriteLine($"{webDll} not found: build it (dotnet build -c Release src/TwilioChannel.Web) or pass --web-dll.");
            return 2;
        }

        if (Levels.Count > MaxLevels)
        {
            Console.Error.WriteLine($"The replies scenario takes at most {MaxLevels} concurrency levels.");
            return 2;
        }
        Console.WriteLine($"Replies bench: {Environment.ProcessorCount} CPUs; {string.Join(", ", Levels)} workers in turn, {Warmup:0.#} s warm-up + {options.DurationSeconds:0.#} s per server.");
        Console.WriteLine($"Push ≈ {_payloads.ApproximateBytes} bytes JSON, SMS text {ReplyPayloads.ContentLength} chars. Load generator and fake Twilio share this process and the CPUs.");

        await using var twilio = await FakeTwilioServer.StartAsync(BenchRun.FreePort(), Payloads.AccountSid, Payloads.AuthToken, ct);
        Console.WriteLine($"[twilio] fake Messages API in this process on {twilio.BaseUrl}");

        var runs = new List<ReplyServerRun>();
        if (options.RunBaseline) runs.Add(await RunBareAsync(twilio, ForwardMode.Bare, ct));
        // The two servers of the target's ratio run next to each other, first: measured last, after three more servers
        // in this process, the service made ≈12k replies/s where it made 13–15k alone (session 18).
        if (options.RunService) runs.Add(await RunServiceAsync(twilio, webDll, Path.Combine(resultsDir, $"replies-{stamp}-service.log"), ct));
        // The same forwarder sending through the official SDK, as the service must: what the SDK alone leaves of the bare rate.
        if (options.RunBaseline && options.SdkReference) runs.Add(await RunBareAsync(twilio, ForwardMode.Sdk, ct));
        // And with the least bookkeeping exactly-once needs (a claim on disk before the send, the SID on disk before the
        // answer): what the rule itself leaves of the bare rate on this machine.
        if (options.RunBaseline && options.DurableBaseline) runs.Add(await RunBareAsync(twilio, ForwardMode.DurableSdk, ct));
        // And with the SIDs findable, as status callbacks need: what exactly-once plus keeping statuses leaves.
        if (options.RunBaseline && options.DurableBaseline) runs.Add(await RunBareAsync(twilio, ForwardMode.DurableSdkBySid, ct));

        var git = root is null ? null : await BenchRun.GitStateAsync(root, ct);
        var report = Markdown(runs, twilio, git);
        var file = Path.Combine(resultsDir, $"replies-{stamp}.md");
        await File.WriteAllTextAsync(file, report, ct);
        Console.WriteLine();
        Console.WriteLine(report);
        Console.WriteLine($"Written to {file}");
        return runs.Any(r => r.Failed) ? 1 : 0;
    }

    private async Task<ReplyServerRun> RunBareAsync(FakeTwilioServer twilio, ForwardMode mode, CancellationToken ct)
    {
        var run = new ReplyServerRun(mode switch { ForwardMode.Sdk => SdkForwarder, ForwardMode.DurableSdk => DurableForwarder, ForwardMode.DurableSdkBySid => BySidForwarder, _ => "bare forwarder" });
        var port = BenchRun.FreePort();
        var child = options.BaselineProcess ? await BaselineProcess.ForwarderAsync(port, twilio.BaseUrl, mode, ct) : null;
        await using var forwarder = child is null ? await BareForwarder.StartAsync(port, twilio.BaseUrl, Payloads.AccountSid, Payloads.AuthToken, ReplyPayloads.SmsNumber, mode, ct) : (IAsyncDisposable)child;
        var url = ReplyPayloads.PushUrl(new Uri($"http://127.0.0.1:{port}"));
        Console.WriteLine($"[{Tag(run.Name)}] forwarder in {(child is null ? "this process" : "a process of its own")} on {url.GetLeftPart(UriPartial.Path)}");
        try
        {
            using (var client = Load.CreateClient(1))
            {
                var id = _payloads.Id(SanityPhase, 0);
                var (status, body) = await PushLoad.PushOnceAsync(client, _payloads, url, id, ct);
                if (status != HttpStatusCode.OK || PushLoad.ExtId(body) is null)
                    throw new InvalidOperationException($"[bare] a push got {(int)status}: {body}");
            }
            await MeasureAsync(run, twilio, url, mode switch { ForwardMode.Sdk => SdkPhase, ForwardMode.DurableSdk => DurablePhase, ForwardMode.DurableSdkBySid => BySidPhase, _ => BarePhase },
                () => CpuSample.Take(child?.CpuTime ?? TimeSpan.Zero), ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            run.Failed = true;
            run.Notes.Add($"Run aborted: {ex.GetType().Name}: {ex.Message}");
            Console.Error.WriteLine($"[bare] aborted: {ex}");
        }
        return run;
    }

    private async Task<ReplyServerRun> RunServiceAsync(FakeTwilioServer twilio, string webDll, string logFile, CancellationToken ct)
    {
        var run = new ReplyServerRun("service");
        var port = BenchRun.FreePort();
        Console.WriteLine($"[service] starting {webDll} on http://127.0.0.1:{port} (log: {logFile})");
        var service = ServiceProcess.Start(webDll, port, logFile, new Dictionary<string, string>
        {
            ["Twilio__ApiBaseUrl"] = twilio.BaseUrl.GetLeftPart(UriPartial.Authority),
            ["Desk__PushTimeoutSeconds"] = PushTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        });
        _service = service;
        try
        {
            var started = Stopwatch.StartNew();
            await service.WaitReadyAsync(TimeSpan.FromSeconds(90), ct);
            Console.WriteLine($"[service] ready in {started.Elapsed.TotalSeconds:0.0} s; seeding account, installation and SMS number");
            await SeedAsync(service.Admin, ct);
            var url = ReplyPayloads.PushUrl(service.BaseUrl);
            var errorsBefore = service.LoggedErrors;
            var sanity = await SanityCheckAsync(twilio, service.BaseUrl, ct);
            await Task.Delay(300, ct); // the log is read asynchronously
            // A repeated push is refused by the claim's unique index; EF Core logs that failed INSERT at fail level.
            run.Notes.Add(sanity + $" The sanity pushes left {service.LoggedErrors - errorsBefore} fail/crit lines in the service log.");
            Console.WriteLine($"[service] {run.Notes[^1]}");
            await MeasureAsync(run, twilio, url, ServicePhase, () => CpuSample.Take(service.CpuTime), ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            run.Failed = true;
            run.Notes.Add($"Run aborted: {ex.GetType().Name}: {ex.Message}");
            Console.Error.WriteLine($"[service] aborted: {ex}");
        }
        finally
        {
            var (warnings, errors) = (service.LoggedWarnings, service.LoggedErrors);
            await service.DisposeAsync();
            _service = null;
            run.Notes.Add($"Service log ({Path.GetFileName(logFile)}, level Warning): {warnings} warn and {errors} fail/crit lines while running; "
                + $"{service.LoggedErrors - errors} fail/crit lines during shutdown (SIGTERM), exit code {service.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "?"}.");
            if (options.KeepData) run.Notes.Add($"Data kept in {service.DataPath}.");
            else service.DeleteData();
        }
        return run;
    }

    /// <summary>The Twilio account, the Desk installation (securityContext "bench-context") and the org's SMS number.</summary>
    private static async Task SeedAsync(HttpClient admin, CancellationToken ct)
    {
        await PostAsync("/api/admin/twilio-accounts", new { accountSid = Payloads.AccountSid, authToken = Payloads.AuthToken });
        await PostAsync("/api/admin/installations", new { orgId = Payloads.OrgId, securityContext = ReplyPayloads.SecurityContext });
        await PostAsync("/api/admin/numbers", new { address = ReplyPayloads.SmsNumber, accountSid = Payloads.AccountSid, orgId = Payloads.OrgId });

        async Task PostAsync(string path, object body)
        {
            using var response = await admin.PostAsJsonAsync(path, body, ct);
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        }
    }

    /// <summary>A push is sent once and answered with its SID; the same push again gets the same SID and sends nothing; a wrong securityContext gets 403.</summary>
    private async Task<string> SanityCheckAsync(FakeTwilioServer twilio, Uri service, CancellationToken ct)
    {
        using var client = Load.CreateClient(1);
        client.Timeout = TimeSpan.FromSeconds(PushTimeoutSeconds + 15);
        var url = ReplyPayloads.PushUrl(service);
        var id = _payloads.Id(SanityPhase, 1);
        var before = twilio.Creates;
        var (status, body) = await PushLoad.PushOnceAsync(client, _payloads, url, id, ct);
        var first = PushLoad.ExtId(body);
        if (status != HttpStatusCode.OK || first is null) throw new InvalidOperationException($"A push got {(int)status}: {body}");
        var (again, againBody) = await PushLoad.PushOnceAsync(client, _payloads, url, id, ct);
        if (again != HttpStatusCode.OK || PushLoad.ExtId(againBody) != first)
            throw new InvalidOperationException($"The same push again got {(int)again}: {againBody} (first answer: {body})");
        if (twilio.Creates - before != 1 || twilio.SidsFor(ReplyPayloads.Content(id)) is not [var sid] || sid != first)
            throw new InvalidOperationException($"Two pushes of one reply made {twilio.Creates - before} creates at Twilio, not 1 with SID {first}.");
        var (forged, forgedBody) = await PushLoad.PushOnceAsync(client, _payloads, ReplyPayloads.PushUrl(service, "wrong-context"), _payloads.Id(SanityPhase, 2), ct);
        if (forged != HttpStatusCode.Forbidden) throw new InvalidOperationException($"A push with a wrong securityContext got {(int)forged}: {forgedBody}");
        return "Sanity: a push answered 200 with the SID Twilio created; the same push again answered the same SID without a second create; "
            + "a wrong securityContext got 403.";
    }

    private static string Tag(string server) => server switch { "service" => "service", SdkForwarder => "sdk", DurableForwarder => "durable", BySidForwarder => "durable-sid", _ => "bare" };

    private async Task MeasureAsync(ReplyServerRun run, FakeTwilioServer twilio, Uri url, int phase, Func<CpuSample> cpu, CancellationToken ct)
    {
        var tag = Tag(run.Name);
        for (var i = 0; i < Levels.Count; i++)
        {
            var workers = Levels[i];
            // The first level warms the JIT up; later ones only need the new connections' ramp.
            var warmup = i == 0 ? Warmup : Math.Min(Warmup, 5);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            var before = twilio.Creates;
            Console.WriteLine($"[{tag}] closed loop: {workers} workers, {warmup:0.#} s warm-up + {options.DurationSeconds:0.#} s");
            var load = await PushLoad.SaturateAsync(_payloads, url, phase + i, workers, warmup, options.DurationSeconds, cpu, ct);
            run.Levels.Add((workers, load));
            Console.WriteLine($"[{tag}]   {load.RepliesPerSecond:N0} replies/s, p50 {load.Latency.P50:0.00} ms, p99 {load.Latency.P99:0.00} ms, errors {load.Errors}"
                + (load.ErrorKinds.Count > 0 ? $" (first kind: {load.ErrorKinds.OrderByDescending(k => k.Value).First().Key})" : ""));

            // A push the client gave up on may still be sent by the service: wait until Twilio sees no more creates (bounded).
            var settle = Stopwatch.StartNew();
            var seen = twilio.Creates;
            var quietSince = Stopwatch.StartNew();
            while (quietSince.Elapsed < TimeSpan.FromSeconds(1) && settle.Elapsed < TimeSpan.FromSeconds(PushTimeoutSeconds + 5))
            {
                await Task.Delay(200, ct);
                if (twilio.Creates != seen) (seen, quietSince) = (twilio.Creates, Stopwatch.StartNew());
            }
            var verdict = Verify(run, twilio, load, twilio.Creates - before, workers);
            Console.WriteLine($"[{tag}] {verdict}");
            // Each level's bodies and answers are its own (the ids carry the phase): checked, they are only weight on the
            // load generator's heap for every level and server that follows (the report keeps the level's numbers).
            twilio.ForgetBodies();
            load.Acks.Clear();
            load.Acks.TrimExcess();
        }
    }

    /// <summary>Every 200 names the one message Twilio created for that push's text; nothing else was created; no errors.</summary>
    private static string Verify(ReplyServerRun run, FakeTwilioServer twilio, PushLoadResult load, long creates, int workers)
    {
        int matched = 0, missing = 0, duplicated = 0, otherSid = 0;
        foreach (var ack in load.Acks)
        {
            var sids = twilio.SidsFor(ReplyPayloads.Content(ack.Id));
            if (sids.Length == 0) missing++;
            else if (sids.Length > 1) duplicated++;
            else if (sids[0] != ack.ExtId) otherSid++;
            else matched++;
        }
        var sentForFailed = load.FailedIds.Sum(id => twilio.SidsFor(ReplyPayloads.Content(id)).Length);
        var good = creates == load.Ok && matched == load.Ok && load.Errors == 0;
        run.Failed |= !good;
        var verdict = $"Correctness at {workers} workers: {load.Ok:N0} pushes answered 200 with an SM extId, {load.Errors:N0} failed; the fake Twilio got {creates:N0} creates meanwhile. "
            + $"Answered pushes with exactly one create carrying that SID: {matched:N0}; with no create: {missing}; with more than one: {duplicated}; "
            + $"answering another SID: {otherSid}; creates for failed pushes: {sentForFailed} → **{(good ? "OK: creates == successful pushes, no errors" : "FAILED")}**.";
        run.Notes.Add(verdict);
        return verdict;
    }

    private string Markdown(List<ReplyServerRun> runs, FakeTwilioServer twilio, string? git)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine($"# Replies benchmark, {_started:yyyy-MM-dd HH:mm:ss} UTC");
        md.AppendLine();
        if (git is not null) md.AppendLine($"- Code: {git}.");
        md.AppendLine($"- Machine: {Environment.ProcessorCount} CPUs, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, "
            + $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC in the bench process (the service uses server GC too).");
        md.AppendLine($"- Load: Desk pushes POST /desk/push?orgId={Payloads.OrgId}&securityContext=…, ≈{_payloads.ApproximateBytes} bytes JSON "
            + $"(tests/fixtures/desk-push-reply.json as a text/plain SMS reply of {ReplyPayloads.ContentLength} chars to {ReplyPayloads.Customer}), a unique resource.id each, "
            + "HTTP/1.1 keep-alive to 127.0.0.1.");
        md.AppendLine($"- Closed loop at {string.Join(", ", Levels)} workers / connections in turn ({Warmup:0.#} s warm-up before the first, "
            + $"{Math.Min(Warmup, 5):0.#} s before the others, {options.DurationSeconds:0.#} s measured each), per server; each server's rate is its peak "
            + "across the levels (the service answers a push after two durable commits, the claim before sending and the outcome after it, so it needs more "
            + "pushes in flight than the bare forwarder to be saturated).");
        md.AppendLine("- Twilio: a zero-latency fake Messages API in the bench process (201 + the message JSON with a fresh SID). The service sends through the "
            + $"official SDK (Twilio__ApiBaseUrl pointed at it, Desk__PushTimeoutSeconds={PushTimeoutSeconds}), with its exactly-once claim, target lookup, "
            + $"opt-out check and status row in SQLite; the bare forwarder ({(options.BaselineProcess ? "in a process of its own, as the service, --baseline-process" : "in the bench process")}) "
            + "parses the JSON, posts the form with an HttpClient and answers {\"extId\": sid}: no storage, no checks.");
        md.AppendLine("- **The load generator and the fake Twilio run in one process on the same CPUs as the server under test**"
            + (options.BaselineProcess ? "" : " (the bare forwarder even in that same process)")
            + "; absolute numbers are a floor for a dedicated server, the ratio is the point. \"other processes\" is machine-wide busy CPU "
            + "minus the measured processes: when it isn't near 0, the run was disturbed.");
        if (Warmup < 15)
            md.AppendLine($"- Warm-up {Warmup:0.#} s: the JIT keeps improving servers and client for ~15 s; short warm-ups understate both.");
        md.AppendLine();

        md.AppendLine("| server | workers | replies/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | CPU cores: server / bench process (load gen + fake Twilio) / other processes |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var run in runs)
        {
            foreach (var (workers, l) in run.Levels)
            {
                var cpu = run.Name == "service" || options.BaselineProcess
                    ? string.Create(inv, $"{l.Cpu.ServerCores:0.00} / {l.Cpu.BenchCores:0.00} / {l.Cpu.OtherCores:0.00}")
                    : string.Create(inv, $"{l.Cpu.BenchCores:0.00} (forwarder + load gen + fake Twilio, one process) / {l.Cpu.OtherCores:0.00}");
                md.AppendLine($"| {run.Name} | {workers} | {l.RepliesPerSecond:N0} | {l.Latency.P50:0.00} | {l.Latency.P99:0.00} | {l.Latency.P999:0.00} | {l.Latency.Max:0.0} "
                    + $"| {l.Errors} ({l.ErrorsInWindow} in window) | {cpu} |");
            }
        }
        var bare = runs.FirstOrDefault(r => r.Name == "bare forwarder")?.Peak;
        var service = runs.FirstOrDefault(r => r.Name == "service")?.Peak;
        if (bare is { } b && service is { } sv)
        {
            var ratio = sv.Load.RepliesPerSecond / b.Load.RepliesPerSecond;
            md.AppendLine($"| **service ÷ bare** (peaks: {sv.Workers} / {b.Workers} workers) | | **{ratio:0.00}×** | {sv.Load.Latency.P50 / b.Load.Latency.P50:0.0}× "
                + $"| {sv.Load.Latency.P99 / b.Load.Latency.P99:0.0}× | {sv.Load.Latency.P999 / b.Load.Latency.P999:0.0}× | {sv.Load.Latency.Max / b.Load.Latency.Max:0.0}× | | |");
            var same = runs.Where(r => r.Name is "bare forwarder" or "service").Select(r => r.Levels.FirstOrDefault(l => l.Workers == Levels[0]).Load).ToList();
            if (same is [{ } bareFirst, { } serviceFirst])
                md.AppendLine($"| service ÷ bare at {Levels[0]} workers each | | {serviceFirst.RepliesPerSecond / bareFirst.RepliesPerSecond:0.00}× | | | | | | |");
            md.AppendLine();
            md.AppendLine($"Throughput ratio service ÷ bare forwarder, peak against peak: **{ratio:0.00}** (target ≥ 0.5: **{(ratio >= 0.5 ? "met" : "not met")}**). "
                + "Latency ratios: above 1 = slower.");
        }
        Reference(SdkForwarder, "SDK forwarder", "SDK forwarder",
            "the same forward with the create through the official Twilio SDK and nothing else: the ceiling for any server that sends with the SDK.");
        Reference(DurableForwarder, "Durable SDK forwarder", "durable SDK forwarder",
            "the SDK forward with the least bookkeeping exactly-once needs (the reply id claimed under a unique index and on disk before the send, "
            + "the SID on disk before the answer; one SQLite transaction and fsync per batch, two statements prepared once) and nothing else: the "
            + "ceiling for any server that sends each reply exactly once with the SDK on this machine.");
        Reference(BySidForwarder, "Durable SDK forwarder with its SIDs indexed", "this forwarder",
            "the durable SDK forwarder whose SIDs are also under a unique index on the push path: what finding a message by its SID costs when "
            + "it is written with the reply (the service's status callbacks name their reply instead, so it writes no SID-keyed row when sending).");

        // A reference server's peak against the bare forwarder's, and the service's against it.
        void Reference(string server, string name, string serviceAgainst, string what)
        {
            if (bare is not { } b || runs.FirstOrDefault(r => r.Name == server)?.Peak is not { } peak) return;
            md.AppendLine();
            md.AppendLine($"{name} ÷ bare forwarder, peak against peak: **{peak.Load.RepliesPerSecond / b.Load.RepliesPerSecond:0.00}×** — {what}"
                + (service is { } sv ? $" Service ÷ {serviceAgainst}: {sv.Load.RepliesPerSecond / peak.Load.RepliesPerSecond:0.00}×." : ""));
        }
        md.AppendLine();

        md.AppendLine("## Notes");
        md.AppendLine();
        foreach (var run in runs)
        {
            foreach (var (workers, l) in run.Levels)
                foreach (var (kind, count) in l.ErrorKinds.OrderByDescending(k => k.Value).Take(10))
                    md.AppendLine($"- {run.Name} at {workers} workers: {count:N0} × {kind}");
            foreach (var note in run.Notes) md.AppendLine($"- {run.Name}: {note}");
        }
        md.AppendLine($"- fake Twilio: {twilio.Creates:N0} messages created in all (sanity pushes included), {twilio.Refused} create calls refused, "
            + $"{twilio.Unexpected} requests to other endpoints{(twilio.FirstProblem is { } p ? $" (first: {p})" : "")}.");
        return md.ToString();
    }
}
