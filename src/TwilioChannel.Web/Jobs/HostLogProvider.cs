using Hangfire.AspNetCore;
using Hangfire.Logging;

namespace TwilioChannel.Web.Jobs;

/// <summary>
/// Hangfire's lines into the host's logging, as Hangfire.AspNetCore's provider does, but a logger asked for after the
/// host stopped is a silent one instead of an ObjectDisposedException. Hangfire keeps one provider per process (the last
/// host to configure it wins) and creates some loggers late, e.g. a job's [AutomaticRetry] the first time it is read:
/// with several hosts in one process (the tests) a stopped host's provider failed another host's job.
/// </summary>
internal sealed class HostLogProvider(ILoggerFactory factory) : ILogProvider
{
    private readonly AspNetCoreLogProvider _inner = new(factory);

    public ILog GetLogger(string name)
    {
        try
        {
            return _inner.GetLogger(name);
        }
        catch (ObjectDisposedException)
        {
            return Silent.Instance;
        }
    }

    private sealed class Silent : ILog
    {
        public static readonly Silent Instance = new();
        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => false;
    }
}
