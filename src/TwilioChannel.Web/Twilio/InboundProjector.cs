using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using TwilioChannel.Domain.Twilio;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Moves acknowledged webhooks from the inbox into the database, oldest first: each batch is stored (deduplicated by
/// MessageSid) and routed by the InboundWriter, and dropped from the inbox once that commit is on the disk. A crash in
/// between stores a batch again, which the unique MessageSid makes harmless. While webhooks arrive in a burst it leaves
/// them in the inbox for a while (<see cref="WaitForBurstToPass"/>), unless someone needs them (<see cref="CaughtUpAsync"/>).
/// It runs on a thread of its own: its work is long synchronous SQLite calls, which should not hold a thread-pool
/// thread. Not at a lower priority: on Linux a thread's nice value is inherited by every thread it starts, and it can't
/// be raised back without privileges, so threads started from it (the database's fsync thread, thread-pool workers)
/// ended up at that priority too (docs/decisions.md, "Ack = durably in the inbox").
/// </summary>
internal sealed class InboundProjector(InboxFile file, InboundInbox inbox, InboundWriter writer, InboundProjectorWakeup wakeup,
    UnprojectedCustomers unprojected, IOptions<InboundOptions> options, TimeProvider time, ILogger<InboundProjector> logger)
    : BackgroundService
{
    private const int BatchSize = 256;
    private static readonly TimeSpan Sweep = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Under load the projector lets webhooks gather for a moment before it takes them. Woken by every inbox round, it
    /// took ≈15 messages at a time at 5,000/s (≈350 batches/s), and each batch pays a transaction, the commit of the pages
    /// every batch touches (conversation, feed, table tails) and an fsync round of the database; that fixed cost competes
    /// for the CPUs with the ack path. Only after a busy drain: a lone message is not held back.
    /// </summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(10);

    /// <summary>A drain this large means webhooks are arriving faster than ≈1,000/s (an inbox round every 1–3 ms).</summary>
    private const int BusyDrain = 8;

    /// <summary>How often a waiting projection looks again at the rate (and at callers that need it now).</summary>
    private static readonly TimeSpan BurstPoll = TimeSpan.FromMilliseconds(100);

    private long _projected;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly BurstMeter _meter = new(time);
    private long? _waitingSince;

    /// <summary>The current drain follows a wait that reached Inbound:BurstMaxDelaySeconds: it runs until the inbox is
    /// empty, beside the acks (a burst longer than the wait is a sustained overload, and the database must keep up).</summary>
    private bool _overdue;
    private int _callersWaiting;
    private readonly ManualResetEventSlim _callerWaiting = new();

    /// <summary>The inbox id up to which every entry is in the database.</summary>
    public long Projected => Volatile.Read(ref _projected);

    /// <summary>Waits until every webhook answered before this call is in the database, at most <paramref name="bound"/>;
    /// false if it is not by then.</summary>
    public async Task<bool> CaughtUpAsync(TimeSpan bound, CancellationToken ct)
    {
        var target = inbox.Acknowledged;
        // A caller that needs the database to hold everything answered (the pull, the admin list, the reconciliation) ends a burst's wait.
        Interlocked.Increment(ref _callersWaiting);
        _callerWaiting.Set();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(bound);
        try
        {
            while (true)
            {
                var progress = Volatile.Read(ref _progress);
                if (Volatile.Read(ref _projected) >= target) return true;
                await progress.Task.WaitAsync(timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            // A Set racing this Reset only delays that caller by one BurstPoll: the count is checked on every look.
            if (Interlocked.Decrement(ref _callersWaiting) == 0) _callerWaiting.Reset();
        }
    }

    /// <summary>
    /// Like <see cref="CaughtUpAsync"/>, for one customer: waits only when one of their messages is acknowledged and
    /// not yet in the database (Twilio/UnprojectedCustomers), so a reply to anyone else neither waits nor ends a
    /// burst's wait. What a crash left in the inbox has no such record (the webhooks were answered by the process
    /// before): until the projection has passed it, every reply waits for it, as only the first moments after such a
    /// start see.
    /// </summary>
    public Task<bool> CustomerCaughtUpAsync(string customer, TimeSpan bound, CancellationToken ct) =>
        unprojected.Waiting(customer, Projected) || Projected < file.LastAtStart ? CaughtUpAsync(bound, ct) : Task.FromResult(true);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(stoppingToken);
                stopped.SetResult();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                stopped.SetResult();
            }
            catch (Exception ex)
            {
                stopped.SetException(ex);
            }
        }) { IsBackground = true, Name = "Inbox projector" };
        thread.Start();
        return stopped.Task;
    }

    private void Run(CancellationToken stoppingToken)
    {
        using var connection = file.Open();
        using var read = connection.CreateCommand();
        read.CommandText = """SELECT "Id", "ReceivedAt", "Form" FROM "Inbox" WHERE "Id" > @p0 ORDER BY "Id" LIMIT @p1""";
        read.Parameters.Add(new SqliteParameter("@p0", 0L));
        read.Parameters.Add(new SqliteParameter("@p1", BatchSize));
        read.Prepare();
        while (!stoppingToken.IsCancellationRequested)
        {
            if (WaitForBurstToPass())
            {
                WaitHandle.WaitAny([stoppingToken.WaitHandle, _callerWaiting.WaitHandle], BurstPoll);
                continue;
            }
            var drained = 0;
            try
            {
                // A burst that begins during a drain waits too: the drain used to run until the inbox was empty, which
                // under a burst's arrivals it never was, so a burst that found the projector awake (its first webhooks
                // wake it, and the last second's rate is still low then) had the projection beside its acks throughout.
                for (int taken; (taken = ProjectBatch(read)) > 0;)
                {
                    drained += taken;
                    if (BurstBegan()) break;
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Moving acknowledged webhooks into the database failed; retrying shortly.");
                stoppingToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
            wakeup.WaitAsync(Sweep, stoppingToken).GetAwaiter().GetResult();
            if (drained >= BusyDrain) stoppingToken.WaitHandle.WaitOne(Linger);
        }
    }

    /// <summary>
    /// True while webhooks arrive faster than Inbound:BurstRate and the projection should leave them in the inbox: its
    /// database writes (≈2.5 pages per message, the random MessageSid index leaf among them) share the disk's flushes
    /// with the inbox's, and at thousands per second they made every acknowledgement wait (docs/decisions.md, "Bursts:
    /// the projection waits"). Waits at most Inbound:BurstMaxDelaySeconds at a time, and never while a caller needs
    /// the database up to date (<see cref="CaughtUpAsync"/>).
    /// </summary>
    private bool WaitForBurstToPass()
    {
        var burst = InBurst(out var rate);
        var limit = options.Value;
        var needed = Volatile.Read(ref _callersWaiting) > 0;
        _overdue = false;
        if (!burst || needed)
        {
            if (_waitingSince is not null)
                logger.LogInformation(needed
                    ? "The pull, the admin list, the reconciliation or a reply to a customer whose message waits needs every acknowledged webhook ({Rate:0}/s): moving the waiting webhooks into the database."
                    : "Webhook burst over ({Rate:0}/s): moving the waiting webhooks into the database.", rate);
            _waitingSince = null;
            return false;
        }
        if (_waitingSince is not { } since)
        {
            _waitingSince = time.GetTimestamp();
            logger.LogInformation("Webhooks arriving at {Rate:0}/s: they wait in the inbox (acknowledged) until the burst passes, at most {Delay} s.", rate, limit.BurstMaxDelaySeconds);
            return true;
        }
        if (time.GetElapsedTime(since) < TimeSpan.FromSeconds(limit.BurstMaxDelaySeconds)) return true;
        logger.LogInformation("Webhook burst still going after {Delay} s ({Rate:0}/s): moving the waiting webhooks into the database now.", limit.BurstMaxDelaySeconds, rate);
        _waitingSince = null;
        _overdue = true;
        return false;
    }

    private bool InBurst(out double rate)
    {
        var acknowledged = inbox.Acknowledged;
        rate = _meter.Observe(acknowledged);
        var limit = options.Value.BurstRate;
        return limit > 0 && rate >= limit && Volatile.Read(ref _projected) < acknowledged;
    }

    /// <summary>Whether a drain begun while webhooks came slowly should stop and wait: a burst began meanwhile. Not a
    /// drain of an overdue wait (a sustained overload is moved while it goes on) nor one a caller waits for.</summary>
    private bool BurstBegan() => !_overdue && Volatile.Read(ref _callersWaiting) == 0 && InBurst(out _);

    private int ProjectBatch(SqliteCommand read)
    {
        // Taken before the read: everything up to it is in the inbox, or was purged once the database had it.
        var acknowledged = inbox.Acknowledged;
        read.Parameters[0].Value = _projected;
        var batch = new List<Message>(BatchSize);
        long last = 0;
        using (var reader = read.ExecuteReader())
        {
            while (reader.Read())
            {
                last = reader.GetInt64(0);
                batch.Add(ToMessage(new DateTime(reader.GetInt64(1), DateTimeKind.Utc), reader.GetString(2), last));
            }
        }
        if (batch.Count == 0)
        {
            // Nothing after our mark, yet this process acknowledged webhooks beyond it: another process on the same data
            // folder (a rolling restart runs two) read the shared inbox first, stored them and purged them, which it does
            // only once the database has them on the disk. They are in the database: without this, the mark stayed
            // below them and every CaughtUpAsync here waited its whole bound (the admin list answered 503 after 30 s).
            if (acknowledged > _projected) Advance(acknowledged);
            return 0;
        }

        // Synchronous on purpose: SQLite's calls are, and the work stays on this thread.
        writer.StoreAsync(batch).GetAwaiter().GetResult();
        Advance(last);
        unprojected.Projected(batch.Select(m => m.From), last);
        // Dropped from the inbox only once the database has it on the disk; meanwhile the next batch goes on.
        writer.DurableAsync().ContinueWith(_ => inbox.Purge(last), TaskContinuationOptions.OnlyOnRanToCompletion);
        return batch.Count;
    }

    /// <summary>Everything up to <paramref name="id"/> is in the database: wakes the callers waiting for it.</summary>
    private void Advance(long id)
    {
        Volatile.Write(ref _projected, id);
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>The entry as the webhook stored it. The webhook checked the same form with the same code before answering,
    /// so this only throws for a damaged file: the projector then stops there and logs the error every second rather
    /// than drop a customer's message; the entry is left for an operator to read.</summary>
    private static Message ToMessage(DateTime receivedAt, string rawForm, long id)
    {
        var form = JsonSerializer.Deserialize<Dictionary<string, string>>(rawForm)
            ?? throw new InvalidDataException($"Inbox entry {id} holds no form.");
        var inbound = InboundMessage.FromForm(form, receivedAt, out _)
            ?? throw new InvalidDataException($"Inbox entry {id} lacks what a message needs.");
        return new Message
        {
            MessageSid = inbound.MessageSid,
            AccountSid = inbound.AccountSid,
            From = inbound.From,
            To = inbound.To,
            Body = inbound.Body,
            MessagingServiceSid = inbound.MessagingServiceSid,
            NumMedia = inbound.Media.Count,
            Direction = "in",
            State = MessageState.Received,
            ReceivedAt = receivedAt,
            RawForm = rawForm,
            Form = form,
            Inbound = inbound,
        };
    }
}
