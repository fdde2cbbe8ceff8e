using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;

namespace TwilioChannel.Bench;

/// <summary>The markdown report: one table with both servers and the service/baseline ratios, then the notes.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Markdown(BenchOptions o, List<ServerRun> runs, DateTime started, string? git)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Webhook benchmark, {started:yyyy-MM-dd HH:mm:ss} UTC");
        md.AppendLine();
        if (git is not null) md.AppendLine($"- Code: {git}.");
        md.AppendLine($"- Machine: {Environment.ProcessorCount} CPUs, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, "
            + $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC in the bench process (the service uses server GC too).");
        md.AppendLine($"- Load: signed WhatsApp webhooks, ≈{Payloads.ApproximateBodyBytes} bytes form, unique MessageSid each, {o.WebhookCustomers:N0} customer(s) interleaved, HTTP/1.1 keep-alive to 127.0.0.1; "
            + "bodies and signatures generated before timing.");
        md.AppendLine($"- Saturation: closed loop at {string.Join(", ", o.ConcurrencyLevels)} workers / connections in turn ({o.WarmupSeconds:0.#} s warm-up before the first, "
            + $"{Math.Min(o.WarmupSeconds, 5):0.#} s before the others, {o.DurationSeconds:0.#} s measured each); each server's saturation is its peak across the levels "
            + "(a server whose ack waits for a disk flush needs more requests in flight than a bare endpoint to be saturated). "
            + (o.BackToBack
                ? "The service's levels ran back to back (--back-to-back): a sustained overload, each level also paying for filing the one before."
                : "Before each later level the service's router backlog drained (each level a burst of its own; the time is in the notes)."));
        md.AppendLine($"- Fixed rate: open loop, {o.Rate:N0} req/s for {o.DurationSeconds:0.#} s measured, after {o.FixedWarmupSeconds:0.#} s at the same rate on the same "
            + $"connections (not measured: a fresh client's connection set-up), latency from each request's scheduled send time "
            + $"(no coordinated omission), at most {o.MaxInFlight} in flight (beyond: not sent, counted as errors).");
        md.AppendLine("- **The load generator runs on the same CPUs as the server under test** and takes a large share of them (see the CPU column); "
            + (o.BaselineProcess ? "the baseline servers run in a process of their own, as the service (--baseline-process). "
                : "the baseline server even runs inside the load generator's process. ")
            + "Absolute numbers are a floor for a dedicated server; the ratio is the point. "
            + "\"other processes\" is machine-wide busy CPU minus both (builds, tests...): when it isn't near 0, the run was disturbed.");
        if (o.WarmupSeconds < 15)
            md.AppendLine($"- Warm-up {o.WarmupSeconds:0.#} s: servers and client keep tier-1 JIT-compiling (Kestrel, HttpClient, EF Core) for ~10–20 s on "
                + "2 busy cores, so a short warm-up understates both (measured here: baseline ~9k → ~27k req/s, service ~0.7k → ~1.6k req/s "
                + "from 2 s to 15 s); use --warmup 15 or more for steady state.");
        md.AppendLine();

        md.AppendLine("| server | mode | req/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | CPU cores: server / load gen / other processes |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---|");
        var baseline = runs.FirstOrDefault(r => r.Name == "baseline");
        var service = runs.FirstOrDefault(r => r.Name == "service");
        foreach (var run in runs) SaturationRow(md, run);
        if (baseline?.Saturation is { } bs && service?.Saturation is { } ss)
            RatioRow(md, $"saturation (peaks: {ss.Workers} / {bs.Workers} workers)", ss.RequestsPerSecond / bs.RequestsPerSecond, ss.Latency, bs.Latency);
        foreach (var run in runs) FixedRow(md, run);
        if (baseline?.FixedRate is { } bf && service?.FixedRate is { } sf)
            RatioRow(md, $"fixed {o.Rate:N0}/s", sf.AchievedPerSecond / bf.AchievedPerSecond, sf.FromScheduled, bf.FromScheduled);
        md.AppendLine();
        md.AppendLine("Ratio rows: service ÷ baseline (throughput: below 1 = slower; latency: above 1 = slower).");
        if (baseline?.Saturation is { } b && runs.FirstOrDefault(r => r.Name == DurableBaseline) is { Saturation: { } ds } durable)
        {
            md.AppendLine();
            md.AppendLine($"Durable baseline ÷ baseline at saturation: **{ds.RequestsPerSecond / b.RequestsPerSecond:0.00}×**"
                + (durable.FixedRate is { } df ? $"; at fixed {df.Rate:N0}/s its p50 / p99 are {df.FromScheduled.P50:0.00} / {df.FromScheduled.P99:0.00} ms" : "")
                + ". The same bare endpoint answering only after its form is fsynced to a file: the floor for any webhook that acks after a durable write.");
        }
        md.AppendLine();

        md.AppendLine("## Notes");
        md.AppendLine();
        foreach (var run in runs)
        {
            if (run.FixedRate is { } f)
                md.AppendLine($"- {run.Name}, fixed rate: {f.Ok:N0} of {f.Scheduled:N0} answered 200, {f.Failed} failed, {f.OverCap} over the in-flight cap "
                    + $"(peak in flight {f.PeakInFlight}). Time from actual send p50/p99/max {f.ServiceTime.P50:0.00}/{f.ServiceTime.P99:0.00}/{f.ServiceTime.Max:0.0} ms; "
                    + $"dispatch lag (send − schedule, the client's ~1 ms timer tick) p50/p99/max {f.DispatchLag.P50:0.00}/{f.DispatchLag.P99:0.00}/{f.DispatchLag.Max:0.0} ms."
                    + (f.P99PerSecond.Count > 0 ? $" p99 of each measured second (ms): {string.Join(", ", f.P99PerSecond.Select(p => p.ToString("0.0", CultureInfo.InvariantCulture)))}." : "")
                    + (f.FirstError is { } fe ? $" First error: {fe}." : ""));
            foreach (var s in run.Sweep.Where(s => s.Errors > 0))
                md.AppendLine($"- {run.Name}, saturation at {s.Workers} workers: {s.Errors} errors ({s.ErrorsInWindow} in the window); first: {s.FirstError}.");
            foreach (var note in run.Notes) md.AppendLine($"- {run.Name}: {note}");
        }
        if (baseline is not null && !o.BaselineProcess)
            md.AppendLine("- baseline CPU is the whole bench process (load generator + baseline server together); for the service the two are separate processes.");
        return md.ToString();
    }

    private static void SaturationRow(StringBuilder md, ServerRun run)
    {
        foreach (var s in run.Sweep) SaturationRow(md, run, s);
    }

    private static void SaturationRow(StringBuilder md, ServerRun run, SaturationResult s)
    {
        var mode = $"saturation, {s.Workers} workers" + (s.PoolExhausted ? $" ({s.WindowSeconds:0.0} s: pool ran out)" : "");
        Row(md, run.Name, mode, s.RequestsPerSecond, s.Latency, s.Errors.ToString(Inv), Cpu(run, s.Cpu));
    }

    private static void FixedRow(StringBuilder md, ServerRun run)
    {
        if (run.FixedRate is not { } f) return;
        var errors = f.OverCap > 0 ? $"{f.Failed + f.OverCap} ({f.OverCap} over cap)" : f.Failed.ToString(Inv);
        Row(md, run.Name, $"fixed {f.Rate:N0}/s", f.AchievedPerSecond, f.FromScheduled, errors, Cpu(run, f.Cpu));
    }

    private static void Row(StringBuilder md, string server, string mode, double rate, LatencySummary l, string errors, string cpu) =>
        md.AppendLine($"| {server} | {mode} | {rate:N0} | {l.P50:0.00} | {l.P99:0.00} | {l.P999:0.00} | {l.Max:0.0} | {errors} | {cpu} |");

    private static void RatioRow(StringBuilder md, string mode, double throughput, LatencySummary service, LatencySummary baseline) =>
        md.AppendLine($"| **service ÷ baseline** | {mode} | **{throughput:0.00}×** | {service.P50 / baseline.P50:0.0}× | {service.P99 / baseline.P99:0.0}× "
            + $"| {service.P999 / baseline.P999:0.0}× | {service.Max / baseline.Max:0.0}× | | |");

    /// <summary>The bare endpoint acking after an fsync (BaselineServer with a DurableJournal).</summary>
    public const string DurableBaseline = "durable baseline";

    private static string Cpu(ServerRun run, CpuUse cpu) => run.Name is "baseline" or DurableBaseline && cpu.ServerCores == 0
        ? string.Create(Inv, $"{cpu.BenchCores:0.00} (both, one process) / {cpu.OtherCores:0.00}")
        : string.Create(Inv, $"{cpu.ServerCores:0.00} / {cpu.BenchCores:0.00} / {cpu.OtherCores:0.00}");
}
