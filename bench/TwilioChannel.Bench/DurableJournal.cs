using Microsoft.Win32.SafeHandles;

namespace TwilioChannel.Bench;

/// <summary>
/// The least a durable ack can cost: records written into a preallocated ring file (overwritten in place, as SQLite
/// reuses its WAL after a checkpoint), and a caller answered once an fsync that started after its write has returned.
/// Rounds coalesce on one thread, as the service's WalDurability does: one fsync answers every write before it.
/// No parsing, no index, no checkpoint: a floor for any server that must not ack before the disk has the message.
/// </summary>
internal sealed class DurableJournal : IDisposable
{
    private const long Size = 64L * 1024 * 1024;
    private readonly SafeFileHandle _file;
    private readonly object _lock = new();
    private readonly Thread _thread;
    private readonly string _path;
    private TaskCompletionSource? _next;
    private long _offset;
    private bool _stopping;

    public DurableJournal(string path)
    {
        _path = path;
        _file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        var zeros = new byte[1024 * 1024];
        for (long at = 0; at < Size; at += zeros.Length) RandomAccess.Write(_file, zeros, at);
        RandomAccess.FlushToDisk(_file);
        _thread = new Thread(Run) { IsBackground = true, Name = "journal fsync" };
        _thread.Start();
    }

    /// <summary>Completes once <paramref name="record"/> is on the disk.</summary>
    public Task AppendAsync(ReadOnlySpan<byte> record)
    {
        lock (_lock)
        {
            if (_offset + record.Length > Size) _offset = 0;
            RandomAccess.Write(_file, record, _offset);
            _offset += record.Length;
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
                while (_next is null && !_stopping) Monitor.Wait(_lock);
                round = _next;
                _next = null;
                if (round is null) return;
            }
            RandomAccess.FlushToDisk(_file);
            round.SetResult();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.Pulse(_lock);
        }
        _thread.Join(TimeSpan.FromSeconds(10));
        _file.Dispose();
        File.Delete(_path);
    }
}
