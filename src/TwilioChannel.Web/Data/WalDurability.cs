using Microsoft.Win32.SafeHandles;

namespace TwilioChannel.Web.Data;

/// <summary>
/// The fsync of SQLite's write-ahead log, taken out of the writer loops' COMMIT and run beside them.
///
/// The writer loops (Data/WriterConnection) commit with synchronous=NORMAL: the COMMIT appends the transaction to the
/// WAL in the OS's page cache and returns, the write lock is free at once, and the loop goes on with its next batch.
/// This stage then fsyncs the WAL on its own thread, and a batch's waiters are answered only once an fsync that
/// started after its COMMIT has returned. So an ack still means "survives a power cut", as with synchronous=FULL, but the
/// fsync (measured at saturation: a COMMIT took 1.3–1.9 ms with it, 0.2–0.4 ms without) overlaps the next batch's work
/// instead of adding to it. Rounds coalesce: one fsync answers every caller that asked before it started. The WAL
/// is written in order and recovered as a checksummed prefix, so one fsync covers every commit before it.
///
/// Readers whose answer leaves the service (the pull, the import to Desk) call <see cref="SyncAsync"/> after reading,
/// so they never hand out anything a power cut could take back (a reused feed position behind Desk's cursor).
///
/// Only a SQLite database file in WAL mode is tracked; on anything else <see cref="SyncAsync"/> returns at once
/// (every commit there is durable by itself, as on PostgreSQL). After a failed fsync the stage refuses every later
/// round: Linux may drop the pages it could not write and report the next fsync clean, so nothing more is acknowledged
/// until the service restarts and SQLite recovers the log from the disk (as PostgreSQL does).
/// </summary>
public sealed class WalDurability : IDisposable
{
    private readonly Action<string> _flush;
    private readonly ILogger<WalDurability>? _logger;
    private readonly object _lock = new();
    private TaskCompletionSource? _next;
    private string? _walPath;
    private Exception? _failure;
    private Thread? _thread;
    private bool _stopping;

    public WalDurability(ILogger<WalDurability> logger) : this(FlushToDisk, logger) { }

    /// <summary><paramref name="flush"/> makes the file at the given path durable (tests wrap the real one).</summary>
    internal WalDurability(Action<string> flush, ILogger<WalDurability>? logger = null)
    {
        _flush = flush;
        _logger = logger;
    }

    /// <summary>The failure that stopped the stage, if any (reported by /health/ready).</summary>
    public Exception? Failure => _failure;

    /// <summary>Starts tracking the WAL of the database at <paramref name="databasePath"/>, before a connection commits to it
    /// without its own fsync. One file per instance (the database's, and the inbox's own: Twilio/InboundInbox).</summary>
    public void Track(string databasePath)
    {
        var wal = databasePath + "-wal";
        lock (_lock)
        {
            if (_walPath is not null)
            {
                if (_walPath != wal) throw new InvalidOperationException("WalDurability tracks one database.");
                return;
            }
            _walPath = wal;
            _thread = new Thread(Run) { IsBackground = true, Name = "WAL fsync" };
            _thread.Start();
        }
    }

    /// <summary>Completes once everything committed before this call is on the disk.</summary>
    public Task SyncAsync()
    {
        lock (_lock)
        {
            if (_walPath is null) return Task.CompletedTask; // nothing was ever committed without its own fsync
            if (_failure is not null) return Task.FromException(Refused());
            if (_stopping) return FlushNow(); // the round thread may be gone: flush on the caller's thread
            if (_next is null)
            {
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Monitor.Pulse(_lock);
            }
            return _next.Task;
        }
    }

    private void Run()
    {
        while (true)
        {
            TaskCompletionSource? round;
            lock (_lock)
            {
                // Monitor.Wait blocks at once. A SemaphoreSlim spun (sched_yield) before blocking, once per round: at
                // 5,000 webhooks/s that was a third of this thread's CPU, taken from the request threads on 2 cores.
                while (_next is null && !_stopping) Monitor.Wait(_lock);
                // Taken before the fsync starts: whoever asks from now on waits for the next round.
                round = _next;
                _next = null;
                if (round is null) return; // stopping, and nothing left to flush
            }
            try
            {
                _flush(_walPath!);
                round.SetResult();
            }
            catch (Exception ex)
            {
                _logger?.LogCritical(ex, "The database's write-ahead log could not be flushed to disk; nothing more is acknowledged until the service restarts.");
                lock (_lock) _failure = ex;
                round.SetException(Refused());
            }
        }
    }

    private Task FlushNow()
    {
        try
        {
            _flush(_walPath!);
            return Task.CompletedTask;
        }
        catch (Exception ex)
        {
            _failure = ex;
            return Task.FromException(Refused());
        }
    }

    private IOException Refused() =>
        new("The database's write-ahead log could not be flushed to disk; restart the service.", _failure);

    /// <summary>fsync of the WAL file, opened afresh each round: SQLite deletes the file when its last connection
    /// closes (after checkpointing it into the database file and syncing that), so a kept handle could point at a
    /// deleted file. A missing file therefore means there is nothing left to flush.</summary>
    internal static void FlushToDisk(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return;
        }
        using (handle) RandomAccess.FlushToDisk(handle);
    }

    public void Dispose()
    {
        Thread? thread;
        lock (_lock)
        {
            _stopping = true;
            thread = _thread;
            Monitor.Pulse(_lock);
        }
        thread?.Join(TimeSpan.FromSeconds(10)); // a round asked before this is still flushed
    }
}
