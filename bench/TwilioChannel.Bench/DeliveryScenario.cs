using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace TwilioChannel.Bench;

/// <summary>
/// --scenario delivery: real-time delivery to Desk, end to end. The service (child process) imports into a
/// zero-latency fake Desk in this process (FakeDeskServer.cs); signed webhooks arrive at a fixed rate (open loop,
/// unique SIDs, --customers customers) for a warm-up and then --duration seconds. For every acknowledged webhook of the
/// measured window: end-to-end latency = the moment its thread's import call had fully arrived at the fake Desk − the
/// moment its 200 reached the load generator (both Stopwatch timestamps in this process). The baseline is the ack
/// latency itself (scheduled send → 200, same requests). Afterwards every acknowledged SID must have reached Desk
/// exactly once.
/// </summary>
internal sealed class DeliveryRun(BenchOptions options) : IBenchRun
{
    private const int DefaultRate = 1000;
    private const string SecurityContext = "bench-delivery-context";
    private const string ConnectionLinkName = "bench_desk_connection";
    private const int IsolatedMessages = 5;

    private readonly ScenarioContext _ctx = new(options, "delivery");
    private readonly SidSource _sids = new();
    private readonly List<string> _notes = [];

    private int Rate => options.RateGiven ? options.Rate : DefaultRate;

    public void KillService() => _ctx.Service?.KillNow();

    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (!_ctx.CheckWebDll()) return 2;
        Console.WriteLine($"Delivery bench: {Environment.ProcessorCount} CPUs; {Rate:N0} webhooks/s, {options.WarmupSeconds:0.#} s warm-up + {options.DurationSeconds:0.#} s measured, "
            + $"{options.Customers} customers. Load generator and fake Desk share this process and the CPUs with the service.");

        var secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await using var desk = await FakeDeskServer.StartAsync(BenchRun.FreePort(), Payloads.OrgId, secret, SecurityContext, ConnectionLinkName, ct);
        // Twilio:ApiBaseUrl must not be api.twilio.com: the reconciliation job lists messages. An empty history answers it.
        await using var twilio = await FakeTwilioHistoryServer.StartAsync(BenchRun.FreePort(),
            new SyntheticHistory(Payloads.AccountSid, Payloads.WhatsAppNumber, 0, DateTime.UtcNow.AddDays(-30), DateTime.UtcNow.AddDays(-2)), Payloads.AuthToken, ct);
        Console.WriteLine($"[desk] fake Invoke API on {desk.BaseUrl}; [twilio] empty message list on {twilio.BaseUrl}");

        var port = BenchRun.FreePort();
        var logFile = _ctx.LogFile("service");
        Console.WriteLine($"[service] starting {_ctx.WebDll} on http://127.0.0.1:{port} (log: {logFile})");
        var service = ServiceProcess.Start(_ctx.WebDll, port, logFile, new Dictionary<string, string>
        {
            ["Desk__ApiBaseUrl"] = desk.BaseUrl.GetLeftPart(UriPartial.Authority),
            ["Desk__ExtensionSecret"] = secret,
            // The default budget (20,000 calls per org and day) is a production guard; here it would end the run early.
            ["Desk__DailyApiCallBudget"] = "10000000",
            ["Twilio__ApiBaseUrl"] = twilio.BaseUrl.GetLeftPart(UriPartial.Authority),
        });
        _ctx.Service = service;
        var failed = false;
        Result? result = null;
        try
        {
            var started = Stopwatch.StartNew();
            await service.WaitReadyAsync(TimeSpan.FromSeconds(90), ct);
            Console.WriteLine($"[service] ready in {started.Elapsed.TotalSeconds:0.0} s; seeding account, installation (import on) and WhatsApp number");
            await service.PostAdminAsync("/api/admin/twilio-accounts", new { accountSid = Payloads.AccountSid, authToken = Payloads.AuthToken }, ct);
            await service.PostAdminAsync("/api/admin/installations", new { orgId = Payloads.OrgId, securityContext = SecurityContext, connectionLinkName = ConnectionLinkName }, ct);
            await service.PostAdminAsync("/api/admin/numbers", new { address = Payloads.WhatsAppNumber, accountSid = Payloads.AccountSid, orgId = Payloads.OrgId }, ct);
            result = await MeasureAsync(service, desk, ct);
            failed = result.Failed;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            failed = true;
            _notes.Add($"Run aborted: {ex.GetType().Name}: {ex.Message}");
            Console.Error.WriteLine($"[service] aborted: {ex}");
        }
        finally
        {
            await _ctx.StopServiceAsync(service, _notes, logFile);
        }

        var md = await _ctx.HeaderAsync("Delivery benchmark (webhook ack → Desk import)", ct);
        Markdown(md, result, desk);
        await _ctx.WriteAsync(md, ct);
        return failed ? 1 : 0;
    }

    private sealed record Result(FixedRateResult Warmup, FixedRateResult Measured, LatencySummary EndToEnd, LatencySummary Total, int Negative,
        int MeasuredAcked, int MeasuredImported, long Calls, double ThreadsPerCall, long CallsInWindow, double ThreadsPerCallInWindow, double WindowSeconds,
        int Acked, int Missing, int Duplicates, int Unacked, double DrainSeconds, string? DeliveryState, double FirstMs, IReadOnlyList<double> IsolatedMs, bool Failed);

    private async Task<Result> MeasureAsync(ServiceProcess service, FakeDeskServer desk, CancellationToken ct)
    {
        var url = new Uri(service.BaseUrl, Payloads.Path);
        // Import must be on before the load starts (the loop starts when the installation is read).
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var deliveries = await service.Admin.GetFromJsonAsync<JsonElement>("/api/admin/deliveries", ct);
            if (deliveries.EnumerateArray().Any(d => d.GetProperty("orgId").GetString() == Payloads.OrgId && d.GetProperty("importEnabled").GetBoolean())) break;
            if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new InvalidOperationException($"Import isn't enabled for org {Payloads.OrgId}: {deliveries}");
            await Task.Delay(200, ct);
        }

        // Sanity: one webhook reaches the fake Desk.
        var sanity = Payloads.Generate(url, 1, _sids, customers: options.Customers);
        using (var client = Load.CreateClient(1))
        using (var request = sanity.Create(0))
        using (var response = await client.SendAsync(request, ct))
        {
            if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"A signed webhook got {(int)response.StatusCode}.");
            sanity.Acknowledged[0] = true;
        }
        var waited = Stopwatch.StartNew();
        while (!desk.Threads.ContainsKey(sanity.Sid(0)))
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(15))
                throw new InvalidOperationException($"The first webhook didn't reach the fake Desk within 15 s (refused calls: {desk.Refused}, first problem: {desk.FirstProblem ?? "none"}).");
            await Task.Delay(20, ct);
        }
        var firstMs = waited.Elapsed.TotalMilliseconds;
        Console.WriteLine($"[delivery] sanity: the first webhook reached the fake Desk {firstMs:0} ms after its ack");

        // Isolated messages (no traffic around them): each alone, sent once the previous one reached Desk, 300 ms later.
        var isolated = Payloads.Generate(url, IsolatedMessages, _sids, customers: options.Customers);
        var isolatedMs = new List<double>();
        using (var client = Load.CreateClient(1))
        {
            for (var i = 0; i < isolated.Count; i++)
            {
                await Task.Delay(300, ct);
                using var request = isolated.Create(i);
                using var response = await client.SendAsync(request, ct);
                var ackAt = Stopwatch.GetTimestamp();
                if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"A signed webhook got {(int)response.StatusCode}.");
                isolated.Acknowledged[i] = true;
                FakeDeskServer.ThreadSeen? seen;
                while (!desk.Threads.TryGetValue(isolated.Sid(i), out seen) && Stopwatch.GetElapsedTime(ackAt) < TimeSpan.FromSeconds(15)) await Task.Delay(5, ct);
                isolatedMs.Add(seen is null ? double.NaN : LatencySummary.Ms(seen.FirstAt - ackAt));
            }
        }
        Console.WriteLine($"[delivery] isolated messages, ack → import ms: {string.Join(", ", isolatedMs.Select(v => v.ToString("0", CultureInfo.InvariantCulture)))}");

        Func<CpuSample> cpu = () => CpuSample.Take(service.CpuTime);
        var warmPool = Payloads.Generate(url, (int)Math.Max(1, Math.Round(Rate * options.WarmupSeconds)), _sids, customers: options.Customers);
        var pool = Payloads.Generate(url, (int)Math.Max(1, Math.Round(Rate * options.DurationSeconds)), _sids, customers: options.Customers);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);

        Console.WriteLine($"[delivery] warm-up: {Rate:N0}/s for {options.WarmupSeconds:0.#} s");
        var warm = await Load.FixedRateAsync(warmPool, Rate, options.MaxInFlight, cpu, ct);
        Console.WriteLine($"[delivery]   achieved {warm.AchievedPerSecond:N0}/s, ack p50 {warm.FromScheduled.P50:0.0} ms, p99 {warm.FromScheduled.P99:0.0} ms, failed {warm.Failed}, over cap {warm.OverCap}");

        var answeredAt = new long[pool.Count];
        var scheduledAt = new long[pool.Count];
        var windowStart = Stopwatch.GetTimestamp();
        Console.WriteLine($"[delivery] measured: {Rate:N0}/s for {options.DurationSeconds:0.#} s");
        var measured = await Load.FixedRateAsync(pool, Rate, options.MaxInFlight, cpu, ct, answeredAt, scheduledAt);
        var windowEnd = Stopwatch.GetTimestamp();
        Console.WriteLine($"[delivery]   achieved {measured.AchievedPerSecond:N0}/s, ack p50 {measured.FromScheduled.P50:0.0} ms, p99 {measured.FromScheduled.P99:0.0} ms, failed {measured.Failed}, over cap {measured.OverCap}");

        // Drain: until every acknowledged SID reached Desk, or nothing new arrived for 10 s (at most 60 s).
        var acked = new[] { sanity, isolated, warmPool, pool }.SelectMany(p => p.AcknowledgedSids()).ToHashSet(StringComparer.Ordinal);
        var drain = Stopwatch.StartNew();
        while (drain.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (acked.All(desk.Threads.ContainsKey)) break;
            var last = Volatile.Read(ref desk.LastCallAt);
            if (Stopwatch.GetElapsedTime(Math.Max(last, windowEnd)) > TimeSpan.FromSeconds(10)) break;
            await Task.Delay(200, ct);
        }
        var drainSeconds = drain.Elapsed.TotalSeconds;
        await Task.Delay(500, ct); // a duplicate would come with the next call
        Console.WriteLine($"[delivery] drained in {drainSeconds:0.0} s");

        var e2e = new List<long>(pool.Count);
        var total = new List<long>(pool.Count);
        var negative = 0;
        var measuredAcked = 0;
        for (var i = 0; i < pool.Count; i++)
        {
            if (answeredAt[i] == 0) continue;
            measuredAcked++;
            if (!desk.Threads.TryGetValue(pool.Sid(i), out var seen)) continue;
            var delta = seen.FirstAt - answeredAt[i];
            if (delta < 0) negative++;
            e2e.Add(delta);
        }
        // Scheduled send → import: the ack latency plus the end-to-end latency, per message.
        for (var i = 0; i < pool.Count; i++)
            if (answeredAt[i] != 0 && desk.Threads.TryGetValue(pool.Sid(i), out var seen)) total.Add(seen.FirstAt - scheduledAt[i]);

        var missing = acked.Count(sid => !desk.Threads.ContainsKey(sid));
        var duplicates = desk.Threads.Values.Count(t => t.Count > 1);
        var unacked = desk.Threads.Keys.Count(sid => !acked.Contains(sid));
        var calls = desk.Calls.ToArray();
        var inWindow = calls.Where(c => c.ReceivedAt >= windowStart && c.ReceivedAt <= windowEnd).ToArray();
        string? state = null;
        try
        {
            var deliveries = await service.Admin.GetFromJsonAsync<JsonElement>("/api/admin/deliveries", ct);
            var org = deliveries.EnumerateArray().First(d => d.GetProperty("orgId").GetString() == Payloads.OrgId);
            state = $"backlog {org.GetProperty("backlog").GetInt64()}, callsToday {org.GetProperty("callsToday").GetInt32():N0}, failures {org.GetProperty("failures").GetInt32()}, "
                + $"parked {(org.GetProperty("parkedReason").ValueKind == JsonValueKind.Null ? "no" : org.GetProperty("parkedReason").GetString())}, "
                + $"deadLetters {org.GetProperty("deadLetters").GetInt32()}";
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            state = $"GET /api/admin/deliveries failed: {ex.Message}";
        }

        var failed = missing > 0 || duplicates > 0 || desk.Refused > 0 || measuredAcked == 0;
        return new Result(warm, measured, LatencySummary.From([.. e2e]), LatencySummary.From([.. total]), negative, measuredAcked, e2e.Count,
            calls.Length, calls.Length == 0 ? 0 : calls.Average(c => c.Threads), inWindow.Length, inWindow.Length == 0 ? 0 : inWindow.Average(c => c.Threads),
            (windowEnd - windowStart) / (double)Stopwatch.Frequency, acked.Count, missing, duplicates, unacked, drainSeconds, state,
            firstMs, isolatedMs, failed);
    }

    private void Markdown(System.Text.StringBuilder md, Result? r, FakeDeskServer desk)
    {
        md.AppendLine($"- Load: signed WhatsApp webhooks (≈{Payloads.ApproximateBodyBytes} bytes form, unique MessageSid, {options.Customers} customers interleaved), "
            + $"open loop at {Rate:N0}/s, HTTP/1.1 keep-alive to 127.0.0.1; {options.WarmupSeconds:0.#} s warm-up then {options.DurationSeconds:0.#} s measured; "
            + $"at most {options.MaxInFlight} in flight.");
        md.AppendLine("- Desk: a zero-latency fake Invoke API in the bench process (checks orgId, HASH, securityContext, connectionLinkName; answers 200 "
            + "{\"response\":\"{\\\"statusMessage\\\":\\\"SUCCESS\\\"}\"}). Receive time = when the call's form had been read completely.");
        md.AppendLine("- End-to-end latency = import receive time − the time the webhook's 200 reached the load generator (same process, same clock). "
            + "**Baseline: the ack latency of the same requests** (scheduled send → 200, no coordinated omission). The service has "
            + "Desk:DailyApiCallBudget raised to 10,000,000 so the production guard (20,000 calls/day) doesn't end the run.");
        md.AppendLine($"- Before the load: the first webhook and {IsolatedMessages} isolated ones (each alone), timed from ack to import.");
        md.AppendLine("- **The load generator and the fake Desk share the 2 CPUs with the service**; absolute numbers are a floor.");
        md.AppendLine();
        if (r is null)
        {
            md.AppendLine("No measurement (see the notes).");
        }
        else
        {
            var m = r.Measured;
            md.AppendLine("| measured window | count | p50 ms | p99 ms | p99.9 ms | max ms |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|");
            md.AppendLine($"| ack: scheduled send → 200 (baseline) | {m.Ok:N0} | {m.FromScheduled.P50:0.0} | {m.FromScheduled.P99:0.0} | {m.FromScheduled.P999:0.0} | {m.FromScheduled.Max:0.0} |");
            var e = r.EndToEnd;
            md.AppendLine($"| end to end: 200 → import at Desk | {e.Count:N0} | {e.P50:0.0} | {e.P99:0.0} | {e.P999:0.0} | {e.Max:0.0} |");
            var t = r.Total;
            md.AppendLine($"| scheduled send → import at Desk | {t.Count:N0} | {t.P50:0.0} | {t.P99:0.0} | {t.P999:0.0} | {t.Max:0.0} |");
            md.AppendLine($"| **end to end ÷ ack** | | **{e.P50 / m.FromScheduled.P50:0.0}×** | **{e.P99 / m.FromScheduled.P99:0.0}×** | {e.P999 / m.FromScheduled.P999:0.0}× | {e.Max / m.FromScheduled.Max:0.0}× |");
            md.AppendLine();
            var p50Met = e.P50 <= 100;
            var p99Met = e.P99 <= 1000;
            md.AppendLine($"Targets (absolute, end to end): p50 ≤ 100 ms — **{(p50Met ? "met" : "not met")}** ({e.P50:0.0} ms); p99 ≤ 1 s — **{(p99Met ? "met" : "not met")}** ({e.P99:0.0} ms).");
            md.AppendLine();
            md.AppendLine($"- Achieved {m.AchievedPerSecond:N0} webhooks/s ({m.Ok:N0} of {m.Scheduled:N0} answered 200, {m.Failed} failed, {m.OverCap} over the in-flight cap); "
                + $"CPU cores during the window: service {m.Cpu.ServerCores:0.00} / bench (load + fake Desk) {m.Cpu.BenchCores:0.00} / other processes {m.Cpu.OtherCores:0.00}.");
            md.AppendLine($"- Import calls: {r.Calls:N0} in all, {r.ThreadsPerCall:0.0} threads per call on average; in the measured window "
                + $"{r.CallsInWindow:N0} calls ({r.CallsInWindow / r.WindowSeconds:N0}/s), {r.ThreadsPerCallInWindow:0.0} threads per call. "
                + $"Continuation threads (\"SID#n\", long bodies split at 255 chars) seen: {desk.ContinuationThreads:N0}.");
            if (r.Negative > 0)
                md.AppendLine($"- {r.Negative:N0} of the measured messages reached Desk before their 200 reached the load generator (negative end-to-end latency: "
                    + "the thread is in the feed as soon as the ack transaction commits, and the import can reach Desk before the 200 reaches the client).");
            md.AppendLine($"- Without load: the first webhook reached Desk {r.FirstMs:N0} ms after its ack; {r.IsolatedMs.Count} isolated webhooks (each sent alone, 300 ms after the "
                + $"previous one reached Desk) took {string.Join(", ", r.IsolatedMs.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))} ms from ack to import "
                + "(not in the table: the table is the measured window at the fixed rate).");
            md.AppendLine($"- Warm-up: achieved {r.Warmup.AchievedPerSecond:N0}/s, ack p50/p99 {r.Warmup.FromScheduled.P50:0.0}/{r.Warmup.FromScheduled.P99:0.0} ms, "
                + $"{r.Warmup.Failed} failed, {r.Warmup.OverCap} over cap.");
            var verdict = r.Missing == 0 && r.Duplicates == 0 ? "OK: every acknowledged SID imported exactly once" : "FAILED";
            md.AppendLine($"- Correctness: {r.Acked:N0} SIDs acknowledged (sanity + warm-up + measured); missing at Desk: {r.Missing}; imported more than once: {r.Duplicates}; "
                + $"imported but not acknowledged (client-side failures that were committed): {r.Unacked}; measured acks without an import: {r.MeasuredAcked - r.MeasuredImported} "
                + $"→ **{verdict}** (drained {r.DrainSeconds:0.0} s after the window).");
            if (r.DeliveryState is { } s) md.AppendLine($"- Service delivery state afterwards (GET /api/admin/deliveries): {s}.");
        }
        md.AppendLine($"- Fake Desk: {desk.Calls.Count:N0} calls accepted, {desk.Refused} refused{(desk.FirstProblem is { } p ? $" (first: {p})" : "")}.");
        foreach (var note in _notes) md.AppendLine($"- {note}");
    }
}
