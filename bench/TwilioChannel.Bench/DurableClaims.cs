using Microsoft.Data.Sqlite;

namespace TwilioChannel.Bench;

/// <summary>
/// The least issue 3's exactly-once rule can cost in SQLite, for the durable SDK forwarder: a claim per Desk reply id
/// (a row under a unique index) committed to disk before the send, and the SID written to it, on disk before the
/// answer. One thread runs whatever has queued up as one transaction (WAL), with its two statements prepared once: no EF,
/// no savepoints, no other table, no read. A floor, not a design: a real service also needs the caller check, the
/// conversation, the opt-out and the status row.
/// The fsync runs beside that thread, as the service's (Data/WalDurability): the commit returns with
/// synchronous=NORMAL, a second thread fsyncs the WAL, and a batch hears "done" only after an fsync that began after
/// its commit. Until session 16 the one thread committed with synchronous=FULL and the next batch waited for the fsync,
/// so the floor did its work slower than the service's own commit pipeline would: not a floor.
/// With <c>indexSids</c> the SID column has a unique index: a status callback names only the SID, so a server that keeps
/// statuses (issue 3: per SID, also for a callback that comes before the send stored the SID) must find a message by it.
/// A SID is random, so each one lands on a random page of that index: the one write of the floor that isn't an append.
/// </summary>
internal sealed class DurableClaims : IDisposable
{
    private const int MaxBatch = 256;
    private readonly string _path;
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _claim, _complete;
    private readonly SqliteParameter _claimId, _completeId, _completeSid;
    private readonly Queue<Work> _queue = new();
    private readonly Thread _thread, _syncThread;
    private readonly Queue<List<Work>> _committed = new();
    private bool _stopping, _stopped;

    public DurableClaims(string path, bool indexSids = false)
    {
        _path = path;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=5000;");
        Execute("CREATE TABLE IF NOT EXISTS Claims (Id INTEGER PRIMARY KEY, ThreadId TEXT NOT NULL UNIQUE, Sid TEXT)");
        if (indexSids) Execute("CREATE UNIQUE INDEX IF NOT EXISTS ClaimsBySid ON Claims (Sid)");
        (_claim, _claimId) = Prepare("INSERT INTO Claims (ThreadId) VALUES ($id) ON CONFLICT DO NOTHING", "$id");
        (_complete, _completeSid) = Prepare("UPDATE Claims SET Sid = $sid WHERE ThreadId = $id", "$sid");
        _completeId = _complete.Parameters.Add("$id", SqliteType.Text);
        _thread = new Thread(Run) { IsBackground = true, Name = "claims group commit" };
        _thread.Start();
        _syncThread = new Thread(Sync) { IsBackground = true, Name = "claims fsync" };
        _syncThread.Start();
    }

    /// <summary>True once this reply id is claimed on disk; false when it was claimed before (sent, or being sent).</summary>
    public Task<bool> ClaimAsync(string id) => Enqueue(new Work(id, null));

    /// <summary>Completes once the claim's SID is on disk.</summary>
    public Task<bool> CompleteAsync(string id, string sid) => Enqueue(new Work(id, sid));

    private Task<bool> Enqueue(Work work)
    {
        lock (_queue)
        {
            _queue.Enqueue(work);
            if (_queue.Count == 1) Monitor.Pulse(_queue);
        }
        return work.Done.Task;
    }

    private void Run()
    {
        var batch = new List<Work>(MaxBatch);
        while (true)
        {
            lock (_queue)
            {
                while (_queue.Count == 0 && !_stopping) Monitor.Wait(_queue);
                if (_queue.Count == 0) return;
                while (batch.Count < MaxBatch && _queue.TryDequeue(out var next)) batch.Add(next);
            }
            try
            {
                using (var tx = _connection.BeginTransaction())
                {
                    _claim.Transaction = _complete.Transaction = tx;
                    foreach (var work in batch) work.Changed = Apply(work) == 1;
                    tx.Commit(); // synchronous=NORMAL: in the WAL, not yet on disk
                }
                lock (_committed)
                {
                    _committed.Enqueue(batch);
                    Monitor.Pulse(_committed);
                }
            }
            catch (Exception ex)
            {
                foreach (var work in batch) work.Done.TrySetException(ex);
            }
            batch = new List<Work>(MaxBatch);
        }
    }

    /// <summary>Answers every batch committed before an fsync of the WAL began, once it returned.</summary>
    private void Sync()
    {
        var ready = new List<List<Work>>();
        while (true)
        {
            lock (_committed)
            {
                while (_committed.Count == 0 && !_stopped) Monitor.Wait(_committed);
                if (_committed.Count == 0) return;
                while (_committed.TryDequeue(out var batch)) ready.Add(batch);
            }
            try
            {
                using (var wal = File.OpenHandle(_path + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                    RandomAccess.FlushToDisk(wal);
                foreach (var batch in ready)
                    foreach (var work in batch) work.Done.SetResult(work.Changed);
            }
            catch (Exception ex)
            {
                foreach (var batch in ready)
                    foreach (var work in batch) work.Done.TrySetException(ex);
            }
            ready.Clear();
        }
    }

    private int Apply(Work work)
    {
        if (work.Sid is null)
        {
            _claimId.Value = work.Id;
            return _claim.ExecuteNonQuery();
        }
        _completeSid.Value = work.Sid;
        _completeId.Value = work.Id;
        return _complete.ExecuteNonQuery();
    }

    private (SqliteCommand, SqliteParameter) Prepare(string sql, string parameter)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        var value = command.Parameters.Add(parameter, SqliteType.Text);
        return (command, value);
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        lock (_queue)
        {
            _stopping = true;
            Monitor.Pulse(_queue);
        }
        _thread.Join(TimeSpan.FromSeconds(10));
        lock (_committed)
        {
            _stopped = true;
            Monitor.Pulse(_committed);
        }
        _syncThread.Join(TimeSpan.FromSeconds(10));
        _claim.Dispose();
        _complete.Dispose();
        _connection.Dispose();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" }) File.Delete(file);
    }

    private sealed class Work(string id, string? sid)
    {
        public string Id { get; } = id;
        public string? Sid { get; } = sid;
        public bool Changed { get; set; }
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
