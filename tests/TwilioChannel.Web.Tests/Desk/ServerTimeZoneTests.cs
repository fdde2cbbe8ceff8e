using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Desk;

/// <summary>Tests that change the process's local time zone run alone: every other test would see it too.</summary>
[CollectionDefinition(nameof(LocalTimeZoneCollection), DisableParallelization = true)]
public sealed class LocalTimeZoneCollection;

/// <summary>A self-hosted server need not run in UTC: what Desk gets must not depend on the machine's zone.</summary>
[Collection(nameof(LocalTimeZoneCollection))]
public sealed class ServerTimeZoneTests
{
    [Fact]
    public async Task OnAServerOutsideUtcAMessagePlacedAfterTheTicketsLastThreadKeepsItsUtcTime()
    {
        // The ticket's last thread time came back from SQLite without a kind; the next message's createdTime, placed 1 ms
        // after it (ThreadClock), was then converted as local time: three hours late on a server at UTC−3 (São Paulo).
        var zone = Environment.GetEnvironmentVariable("TZ");
        Environment.SetEnvironmentVariable("TZ", FixedZoneFile(TimeSpan.FromHours(-3)));
        TimeZoneInfo.ClearCachedData();
        try
        {
            Assert.NotEqual(TimeSpan.Zero, TimeZoneInfo.Local.GetUtcOffset(DateTime.UtcNow)); // the premise of the test
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
            await using var app = new ChannelApp { ConfigureServices = s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)) };
            await app.SeedAsync();
            (await app.PostInboundAsync(Fixtures.Sms(new string('a', 600), from: "+14155553002"))).EnsureSuccessStatusCode();
            time.Advance(TimeSpan.FromMilliseconds(1));
            var next = Fixtures.Sms("right after", from: "+14155553002");
            (await app.PostInboundAsync(next)).EnsureSuccessStatusCode();
            await app.RouteAsync();

            using var pull = await app.PullAsync();
            var threads = pull.RootElement.GetProperty("data").GetProperty("threads").EnumerateArray()
                .Select(t => (ExtId: t.GetProperty("extId").GetString()!, Created: t.GetProperty("createdTime").GetString()!)).ToList();
            Assert.Equal(4, threads.Count);
            var first = DateTime.Parse(threads[0].Created, null, System.Globalization.DateTimeStyles.RoundtripKind);
            Assert.Equal(next["MessageSid"], threads[^1].ExtId);
            Assert.Equal(first.AddMilliseconds(3).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"), threads[^1].Created);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TZ", zone);
            TimeZoneInfo.ClearCachedData();
        }
    }

    /// <summary>
    /// A zone file (TZif, RFC 8536, version 1) for one fixed UTC offset: .NET on Linux reads the file TZ names when it is
    /// a path, so the test needs no system time-zone data (minimal CI images have none).
    /// </summary>
    private static string FixedZoneFile(TimeSpan offset)
    {
        var file = new List<byte>();
        void Int32(int value)
        {
            var b = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b, value);
            file.AddRange(b);
        }
        file.AddRange("TZif"u8.ToArray());
        file.AddRange(new byte[16]); // version 1, then 15 reserved bytes
        foreach (var count in new[] { 0, 0, 0, 0, 1, 4 }) Int32(count); // ut/std indicators, leaps, transitions: none; one type; 4 name bytes
        Int32((int)offset.TotalSeconds);
        file.AddRange(new byte[] { 0, 0 }); // not DST; name at index 0
        file.AddRange("FIX\0"u8.ToArray());
        var path = Path.Combine(Path.GetTempPath(), $"twilio-channel-tests-zone-{(int)offset.TotalMinutes}.tzif");
        File.WriteAllBytes(path, file.ToArray());
        return path;
    }
}
