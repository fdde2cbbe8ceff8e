using Microsoft.Extensions.Time.Testing;
using TwilioChannel.Web.Twilio;

namespace TwilioChannel.Web.Tests.Twilio;

public sealed class BurstMeterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void TheRateIsTheAcknowledgementsOfAboutTheLastSecond()
    {
        var meter = new BurstMeter(_time);
        long acknowledged = 0;
        var rate = 0.0;
        for (var i = 0; i < 40; i++) // 2 s at 3,000/s, looked at every 50 ms
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            acknowledged += 150;
            rate = meter.Observe(acknowledged);
        }
        Assert.InRange(rate, 2_900, 3_100);
    }

    [Fact]
    public void AQuietSecondAfterABurstReadsAsQuiet()
    {
        var meter = new BurstMeter(_time);
        long acknowledged = 0;
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            meter.Observe(acknowledged += 500);
        }
        for (var i = 0; i < 25; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            meter.Observe(acknowledged += 1);
        }
        Assert.InRange(meter.Observe(acknowledged), 0, 30);
    }

    [Fact]
    public void LooksCloserThanTheSpacingDoNotShortenTheWindow()
    {
        var meter = new BurstMeter(_time);
        meter.Observe(0);
        _time.Advance(TimeSpan.FromSeconds(1));
        // Many looks within a millisecond (the projector woken by every inbox round) measure over the whole second.
        double rate = 0;
        for (var i = 1; i <= 100; i++) rate = meter.Observe(1_000 + i);
        Assert.InRange(rate, 1_000, 1_200);
    }

    [Fact]
    public void ASingleLookReadsNoRate() => Assert.Equal(0, new BurstMeter(_time).Observe(5_000));
}
