using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Tests.Database;

/// <summary>The WAL's fsync stage on its own: rounds, coalescing and what a failed fsync means.</summary>
public sealed class WalDurabilityTests
{
    [Fact]
    public async Task NothingIsFlushedWhileNoDatabaseIsTracked()
    {
        var flushes = 0;
        using var durability = new WalDurability(_ => Interlocked.Increment(ref flushes));

        await durability.SyncAsync().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(0, flushes); // nothing was committed without its own fsync
    }

    [Fact]
    public async Task OneFsyncAnswersEveryoneWhoAskedBeforeItStartedAndLaterCallersWaitForTheNext()
    {
        var flushed = new List<string>();
        var firstStarted = new SemaphoreSlim(0);
        var release = new ManualResetEventSlim(false);
        using var durability = new WalDurability(path =>
        {
            lock (flushed) flushed.Add(path);
            firstStarted.Release();
            release.Wait();
        });
        durability.Track("/data/channel.db");

        var first = durability.SyncAsync();
        Assert.True(await firstStarted.WaitAsync(TimeSpan.FromSeconds(5)));
        // Asked while the first fsync runs: that fsync may have started before their commits, so they wait for the next.
        var later = new[] { durability.SyncAsync(), durability.SyncAsync(), durability.SyncAsync() };
        Assert.False(first.IsCompleted);
        Assert.All(later, t => Assert.False(t.IsCompleted));

        release.Set();
        await first.WaitAsync(TimeSpan.FromSeconds(5));
        await Task.WhenAll(later).WaitAsync(TimeSpan.FromSeconds(5));

        lock (flushed) Assert.Equal(["/data/channel.db-wal", "/data/channel.db-wal"], flushed); // two rounds for four callers
    }

    [Fact]
    public async Task AfterAFailedFsyncNothingMoreIsAcknowledged()
    {
        var fail = true;
        using var durability = new WalDurability(_ => { if (fail) throw new IOException("EIO"); });
        durability.Track("/data/channel.db");

        await Assert.ThrowsAsync<IOException>(() => durability.SyncAsync().WaitAsync(TimeSpan.FromSeconds(5)));

        // Linux may report the next fsync clean after dropping the pages it could not write: refuse until a restart.
        fail = false;
        var again = await Assert.ThrowsAsync<IOException>(() => durability.SyncAsync().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("restart", again.Message);
        Assert.NotNull(durability.Failure);
    }

    [Fact]
    public async Task TheRealFlushAcceptsALogThatSQLiteHasAlreadyRemoved()
    {
        var folder = Directory.CreateTempSubdirectory("wal-durability");
        var database = Path.Combine(folder.FullName, "channel.db");
        using var durability = new WalDurability(NullLogger());
        durability.Track(database);

        await durability.SyncAsync().WaitAsync(TimeSpan.FromSeconds(5)); // no -wal file: checkpointed and deleted on close
        await File.WriteAllTextAsync(database + "-wal", "frames");
        await durability.SyncAsync().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Null(durability.Failure);
    }

    private static Microsoft.Extensions.Logging.ILogger<WalDurability> NullLogger() =>
        Microsoft.Extensions.Logging.Abstractions.NullLogger<WalDurability>.Instance;
}
