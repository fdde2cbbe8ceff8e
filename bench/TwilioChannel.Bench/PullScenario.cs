using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace TwilioChannel.Bench;

/// <summary>
/// --scenario pull: does assembling a pull page depend on how much is stored? For each --sizes N: a fresh service
/// creates its schema (migrations) and is seeded through the admin API (account, installation without import, number),
/// then stopped; N stored messages with their feed threads (and 500 conversations) are bulk-inserted straight into its
/// SQLite file; the service starts again on that folder and POST /desk/pull is timed with channelState at the start of
/// the feed (after 0) and near its end (after N − 1000), both full pages of 1,000 threads. Baseline: the smallest size,
/// measured in the same run; the ratio largest ÷ smallest is the point.
/// </summary>
internal sealed class PullRun(BenchOptions options) : IBenchRun
{
    private const string SecurityContext = "bench-pull-context";
    private const int Conversations = 500;
    private const int WarmupPulls = 50;
    private const int PageThreads = 1000;

    private readonly ScenarioContext _ctx = new(options, "pull");
    private readonly List<string> _notes = [];

    private readonly List<ServiceProcess> _services = [];

    public void KillService()
    {
        _ctx.Service?.KillNow();
        lock (_services) foreach (var service in _services) service.KillNow();
    }

    private sealed record SizeResult(int Size, double SeedSeconds, long DbBytes, LatencySummary? Start, LatencySummary? End, int StartBytes, int EndBytes,
        int Tickets, string? Problem);

    /// <summary>One size under test: its data folder, then its running service and what the pulls measured.</summary>
    private sealed class Target(int size)
    {
        public int Size { get; } = size;
        public string? DataPath { get; set; }
        public double SeedSeconds { get; set; }
        public long DbBytes { get; set; }
        public ServiceProcess? Service { get; set; }
        public string? LogFile { get; set; }
        public HttpClient? Client { get; set; }
        public Uri? Url { get; set; }
        public long EndAfter => Size - PageThreads;
        public List<long> Start { get; } = [];
        public List<long> End { get; } = [];
        public int StartBytes { get; set; }
        public int EndBytes { get; set; }
        public int Tickets { get; set; }
        public string? Problem { get; set; }
        public List<string> Notes { get; } = [];
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (!_ctx.CheckWebDll()) return 2;
        Console.WriteLine($"Pull bench: {Environment.ProcessorCount} CPUs; sizes {string.Join(", ", options.Sizes.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))}; "
            + $"{WarmupPulls} warm-up + {options.Pulls} measured pulls per position, the sizes' services running side by side and pulled in turn.");
        var targets = options.Sizes.Select(n => new Target(n)).ToList();
        try
        {
            foreach (var target in targets) await PrepareAsync(target, ct);
            await MeasureAsync(targets.Where(t => t.Problem is null).ToList(), ct);
        }
        finally
        {
            foreach (var target in targets)
            {
                if (target.Service is { } service)
                {
                    await _ctx.StopServiceAsync(service, target.Notes, target.LogFile!);
                    lock (_services) _services.Remove(service);
                    target.DataPath = null; // deleted (or kept) with the service
                }
                target.Client?.Dispose();
                if (target.DataPath is not null && !options.KeepData)
                {
                    try { Directory.Delete(target.DataPath, recursive: true); } catch (IOException) { }
                }
                _notes.AddRange(target.Notes.Select(n => $"N={target.Size:N0}: {n}"));
            }
        }

        var results = targets.Select(t => new SizeResult(t.Size, t.SeedSeconds, t.DbBytes,
            t.Problem is null && t.Start.Count > 0 ? LatencySummary.From([.. t.Start]) : null, t.Problem is null && t.End.Count > 0 ? LatencySummary.From([.. t.End]) : null,
            t.StartBytes, t.EndBytes, t.Tickets, t.Problem)).ToList();
        var md = await _ctx.HeaderAsync("Pull benchmark (page assembly vs stored history)", ct);
        Markdown(md, results);
        await _ctx.WriteAsync(md, ct);
        return results.Any(r => r.Problem is not null || r.Start is null) ? 1 : 0;
    }

    /// <summary>Schema and seed through the real service (stopped again), then the bulk insert; the service is left running on the folder.</summary>
    private async Task PrepareAsync(Target target, CancellationToken ct)
    {
        var size = target.Size;
        try
        {
            var setupLog = _ctx.LogFile($"setup-{size}");
            var setup = ServiceProcess.Start(_ctx.WebDll, BenchRun.FreePort(), setupLog);
            _ctx.Service = setup;
            target.DataPath = setup.DataPath;
            try
            {
                await setup.WaitReadyAsync(TimeSpan.FromSeconds(90), ct);
                await setup.PostAdminAsync("/api/admin/twilio-accounts", new { accountSid = Payloads.AccountSid, authToken = Payloads.AuthToken }, ct);
                await setup.PostAdminAsync("/api/admin/installations", new { orgId = Payloads.OrgId, securityContext = SecurityContext }, ct);
                await setup.PostAdminAsync("/api/admin/numbers", new { address = Payloads.WhatsAppNumber, accountSid = Payloads.AccountSid, orgId = Payloads.OrgId }, ct);
            }
            finally
            {
                await _ctx.StopServiceAsync(setup, target.Notes, setupLog, deleteData: false);
            }

            var db = Path.Combine(target.DataPath, "twilio-channel.db");
            Console.WriteLine($"[seed] inserting {size:N0} messages and feed threads into {db}");
            var seed = Stopwatch.StartNew();
            await SeedAsync(db, size, ct);
            target.SeedSeconds = seed.Elapsed.TotalSeconds;
            target.DbBytes = new FileInfo(db).Length;
            Console.WriteLine($"[seed] done in {target.SeedSeconds:0.0} s ({size / target.SeedSeconds:N0} rows/s per table); file {ScenarioContext.Mb(target.DbBytes)}");

            target.LogFile = _ctx.LogFile($"service-{size}");
            var service = ServiceProcess.Start(_ctx.WebDll, BenchRun.FreePort(), target.LogFile, dataPath: target.DataPath);
            target.Service = service;
            lock (_services) _services.Add(service);
            await service.WaitReadyAsync(TimeSpan.FromSeconds(120), ct);
            target.Client = Load.CreateClient(1);
            target.Client.Timeout = TimeSpan.FromSeconds(60);
            target.Url = new Uri(service.BaseUrl, $"/desk/pull?orgId={Payloads.OrgId}&securityContext={Uri.EscapeDataString(SecurityContext)}");

            // Correctness: full pages, the right first thread, the cursor moving on.
            var (_, first) = await PullAsync(target, 0, ct);
            target.Tickets = Check(first, 1, PageThreads);
            target.StartBytes = first.Length;
            var (_, last) = await PullAsync(target, target.EndAfter, ct);
            Check(last, target.EndAfter + 1, size);
            target.EndBytes = last.Length;
            Console.WriteLine($"[pull] N={size:N0}: service ready on {service.BaseUrl}, pages check out ({first.Length / 1024:N0} KB, {target.Tickets} tickets)");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            Console.Error.WriteLine($"[pull] N={size:N0} aborted: {ex}");
            target.Problem = $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    /// <summary>Warm-up, then the measured pulls: each round pulls every size at the start and the end, the sizes' order rotating.</summary>
    private async Task MeasureAsync(List<Target> targets, CancellationToken ct)
    {
        if (targets.Count == 0) return;
        async Task RoundAsync(int round, bool record)
        {
            for (var k = 0; k < targets.Count; k++)
            {
                var target = targets[(round + k) % targets.Count];
                var start = (await PullAsync(target, 0, ct)).Ticks;
                var end = (await PullAsync(target, target.EndAfter, ct)).Ticks;
                if (!record) continue;
                target.Start.Add(start);
                target.End.Add(end);
            }
        }
        for (var i = 0; i < WarmupPulls; i++) await RoundAsync(i, record: false);
        for (var i = 0; i < options.Pulls; i++) await RoundAsync(i, record: true);
        foreach (var t in targets)
        {
            var s = LatencySummary.From([.. t.Start]);
            var e = LatencySummary.From([.. t.End]);
            Console.WriteLine($"[pull] N={t.Size:N0}: start p50 {s.P50:0.0} ms p99 {s.P99:0.0} ms; end p50 {e.P50:0.0} ms p99 {e.P99:0.0} ms");
        }
    }

    private static async Task<(long Ticks, byte[] Body)> PullAsync(Target target, long after, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(new { channelState = $"{{\"v\":1,\"after\":{after}}}" });
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        var sent = Stopwatch.GetTimestamp();
        using var response = await target.Client!.PostAsync(target.Url, content, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        var ticks = Stopwatch.GetTimestamp() - sent;
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"A pull after {after} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        return (ticks, body);
    }

    private static int Check(byte[] body, long firstPosition, long cursor)
    {
        using var doc = JsonDocument.Parse(body);
        var threads = doc.RootElement.GetProperty("data").GetProperty("threads");
        var state = doc.RootElement.GetProperty("channelState").GetString();
        if (threads.GetArrayLength() != PageThreads || threads[0].GetProperty("extId").GetString() != Sid(firstPosition)
            || state != $"{{\"v\":1,\"after\":{cursor}}}")
            throw new InvalidOperationException($"A pull from {firstPosition} gave {threads.GetArrayLength()} threads starting at "
                + $"{(threads.GetArrayLength() > 0 ? threads[0].GetProperty("extId").GetString() : "-")} with channelState {state}; expected {PageThreads} from {Sid(firstPosition)}, after {cursor}.");
        return doc.RootElement.GetProperty("data").GetProperty("tickets").GetArrayLength();
    }

    private static string Sid(long position) => "SMf" + position.ToString("x31", CultureInfo.InvariantCulture);

    private static string Customer(long conversation) => "whatsapp:+55119" + conversation.ToString("D8", CultureInfo.InvariantCulture);

    private static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

    private static string IsoMs(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Json(string s) => JsonSerializer.Serialize(s, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// 500 conversations, then N messages (routed, one every 30 s, customers interleaved) each with its part-1 feed
    /// thread at position = its index, as the router would have written them; the feed counter at N. One transaction
    /// per 50,000 rows, synchronous=OFF (the file is checkpointed and closed before the service starts).
    /// </summary>
    private static async Task SeedAsync(string file, int size, CancellationToken ct)
    {
        var cs = new SqliteConnectionStringBuilder { DataSource = file, Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString();
        await using var connection = new SqliteConnection(cs);
        await connection.OpenAsync(ct);
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-131072;";
            await pragma.ExecuteNonQueryAsync(ct);
        }
        var numberId = 0L;
        await using (var q = connection.CreateCommand())
        {
            q.CommandText = "SELECT \"Id\" FROM \"Numbers\" LIMIT 1";
            numberId = (long)(await q.ExecuteScalarAsync(ct) ?? 0L);
        }
        var firstAt = DateTime.UtcNow.Date.AddSeconds(-30.0 * size);
        const string number = Payloads.WhatsAppNumber;

        var tx = connection.BeginTransaction();
        var conversation = Command(connection, tx, """
            INSERT INTO "Conversations" ("Id", "OrgId", "CustomerAddress", "Generation", "TicketExtId", "TicketJson", "LastNumberId", "CreatedAt", "LastMessageAt", "LastInboundAt")
            VALUES (@p0, @p1, @p2, 1, @p2, @p3, @p4, @p5, @p6, @p6)
            """, 7);
        for (var c = 1; c <= Conversations; c++)
        {
            var customer = Customer(c);
            var phone = customer["whatsapp:".Length..];
            var ticket = $"{{\"extId\":{Json(customer)},\"subject\":{Json($"WhatsApp · Cliente {c} ({phone}): Olá! Preciso trocar o tamanho do pedido 👟 Comprei o tênis número 38 mas ficou apertado")},"
                + $"\"createdTime\":\"{IsoMs(firstAt)}\",\"actor\":{{\"extId\":{Json(customer)},\"name\":\"Cliente {c}\",\"phone\":{Json(phone)}}},\"phone\":{Json(phone)}}}";
            Set(conversation, c, Payloads.OrgId, customer, ticket, numberId, Time(firstAt), Time(firstAt.AddSeconds(30.0 * size)));
            await conversation.ExecuteNonQueryAsync(ct);
        }

        SqliteCommand message = null!, thread = null!;
        void Prepare()
        {
            message = Command(connection, tx, """
                INSERT INTO "Messages" ("Id", "MessageSid", "AccountSid", "OrgId", "From", "To", "Body", "MessagingServiceSid", "NumMedia", "Direction", "State", "ReceivedAt", "RawForm", "ConversationId", "BackfillId")
                VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, NULL, 0, 'in', 1, @p7, @p8, @p9, NULL)
                """, 10);
            thread = Command(connection, tx, """
                INSERT INTO "FeedThreads" ("Id", "ConversationId", "ExtId", "MediaCount", "MessageId", "OrgId", "Part", "Position", "ThreadJson")
                VALUES (@p0, @p1, @p2, 0, @p0, @p3, 1, @p0, @p4)
                """, 5);
        }
        Prepare();
        for (long i = 1; i <= size; i++)
        {
            ct.ThrowIfCancellationRequested();
            var c = (i - 1) % Conversations + 1;
            var customer = Customer(c);
            var sid = Sid(i);
            var at = firstAt.AddSeconds(30.0 * i);
            var body = $"Olá! Preciso trocar o tamanho do pedido {40_000 + i % 9000}: o 38 ficou apertado, vocês têm o 39? Posso trocar na loja do shopping? Obrigada! ({i})";
            var raw = JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["SmsMessageSid"] = sid, ["NumMedia"] = "0", ["ProfileName"] = $"Cliente {c}", ["MessageType"] = "text", ["SmsSid"] = sid,
                ["WaId"] = customer["whatsapp:+".Length..], ["SmsStatus"] = "received", ["Body"] = body, ["To"] = number, ["NumSegments"] = "1",
                ["MessageSid"] = sid, ["AccountSid"] = Payloads.AccountSid, ["From"] = customer, ["ApiVersion"] = "2010-04-01",
            });
            var threadJson = $"{{\"extId\":\"{sid}\",\"extParentId\":{Json(customer)},\"createdTime\":\"{IsoMs(at)}\",\"content\":{Json(body)},\"direction\":\"in\","
                + $"\"from\":{Json(customer)},\"to\":[{Json(number)}],\"actor\":{{\"extId\":{Json(customer)},\"name\":\"Cliente {c}\",\"phone\":{Json(customer["whatsapp:".Length..])}}},"
                + "\"canReply\":true,\"contentType\":\"text/plain\"}";
            Set(message, i, sid, Payloads.AccountSid, Payloads.OrgId, customer, number, body, Time(at), raw, c);
            await message.ExecuteNonQueryAsync(ct);
            Set(thread, i, c, sid, Payloads.OrgId, threadJson);
            await thread.ExecuteNonQueryAsync(ct);
            if (i % 50_000 == 0)
            {
                await tx.CommitAsync(ct);
                await message.DisposeAsync();
                await thread.DisposeAsync();
                tx = connection.BeginTransaction();
                Prepare();
                if (i % 200_000 == 0) Console.WriteLine($"[seed]   {i:N0}");
            }
        }
        await using (var counter = Command(connection, tx, "UPDATE \"Counters\" SET \"Value\" = @p0 WHERE \"Name\" = 'feed'", 1))
        {
            Set(counter, (long)size);
            if (await counter.ExecuteNonQueryAsync(ct) != 1) throw new InvalidOperationException("No 'feed' counter row: the schema isn't the service's.");
        }
        await tx.CommitAsync(ct);
        await message.DisposeAsync();
        await thread.DisposeAsync();
        await conversation.DisposeAsync();
        await using (var checkpoint = connection.CreateCommand())
        {
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await checkpoint.ExecuteNonQueryAsync(ct);
        }

        static SqliteCommand Command(SqliteConnection connection, SqliteTransaction tx, string sql, int parameters)
        {
            var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = sql;
            for (var p = 0; p < parameters; p++) command.Parameters.Add(new SqliteParameter($"@p{p}", null));
            command.Prepare();
            return command;
        }

        static void Set(SqliteCommand command, params object?[] values)
        {
            for (var p = 0; p < values.Length; p++) command.Parameters[p].Value = values[p] ?? DBNull.Value;
        }
    }

    private void Markdown(StringBuilder md, List<SizeResult> results)
    {
        md.AppendLine($"- Data: per size N, a service data folder whose schema the service created (migrations) and whose account, installation (import off) and number "
            + $"came through the admin API; then N routed WhatsApp messages, their N part-1 feed threads (positions 1…N, ~{results.FirstOrDefault(r => r.StartBytes > 0)?.StartBytes / PageThreads ?? 0} bytes "
            + $"per thread in a page, ticket included) and {Conversations} conversations bulk-inserted with Microsoft.Data.Sqlite; the service restarted on that folder.");
        md.AppendLine($"- Measure: POST /desk/pull with channelState after 0 (start) and after N − {PageThreads:N0} (end), each answering a full page of {PageThreads:N0} threads; "
            + $"{WarmupPulls} warm-up rounds, then {options.Pulls} measured rounds; every size's service runs side by side (each on its own folder), and each round "
            + "pulls every size at the start then the end, the sizes' order rotating, so drift on the shared machine hits them alike; one connection per service, "
            + "request sent → body fully read.");
        md.AppendLine("- **Baseline: the smallest size in the same run**; the ratio is largest ÷ smallest. The client shares the 2 CPUs with the service.");
        md.AppendLine();
        md.AppendLine("| N stored | DB file | start p50 ms | start p99 ms | end p50 ms | end p99 ms | page | tickets per page | seeding |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            if (r.Start is not { } s || r.End is not { } e)
            {
                md.AppendLine($"| {r.Size:N0} | — | — | — | — | — | — | — | failed: {r.Problem} |");
                continue;
            }
            md.AppendLine($"| {r.Size:N0} | {ScenarioContext.Mb(r.DbBytes)} | {s.P50:0.0} | {s.P99:0.0} | {e.P50:0.0} | {e.P99:0.0} | {r.StartBytes / 1024:N0} KB | {r.Tickets} | "
                + $"{r.SeedSeconds:0} s |");
        }
        var ok = results.Where(r => r.Start is not null).ToList();
        if (ok.Count >= 2)
        {
            var small = ok.MinBy(r => r.Size)!;
            var large = ok.MaxBy(r => r.Size)!;
            double R(Func<SizeResult, double> f) => f(large) / f(small);
            var ratios = new[] { R(r => r.Start!.P50), R(r => r.Start!.P99), R(r => r.End!.P50), R(r => r.End!.P99) };
            md.AppendLine($"| **{large.Size:N0} ÷ {small.Size:N0}** | {R(r => r.DbBytes):0.0}× | **{ratios[0]:0.00}×** | {ratios[1]:0.00}× | **{ratios[2]:0.00}×** | {ratios[3]:0.00}× | | | |");
            md.AppendLine();
            var medians = Math.Max(ratios[0], ratios[2]);
            md.AppendLine($"Target: median ratio ≤ 1.3 — **{(medians <= 1.3 ? "met" : "not met")}** (worst median ratio {medians:0.000}×; p99 ratios {ratios[1]:0.00}× / {ratios[3]:0.00}× are reported, not targeted)"
                + (large.Size < 1_000_000 ? "; the target is stated for 1,000,000 vs 10,000, this run used smaller sizes." : "."));
        }
        md.AppendLine();
        md.AppendLine("## Notes");
        md.AppendLine();
        foreach (var r in results.Where(r => r.Problem is not null)) md.AppendLine($"- N={r.Size:N0}: **failed: {r.Problem}**");
        foreach (var note in _notes) md.AppendLine($"- {note}");
    }
}
