using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Twilio.Clients;
using Twilio.Http;
using TwilioChannel.Web.Configuration;

namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Twilio SDK clients per account, over an HttpClient from the factory: every request goes to Twilio:ApiBaseUrl
/// (the SDK builds absolute api.twilio.com URLs, next-page URLs too), and only what Twilio certainly did not process is
/// retried — HTTP 429 and connection failures before the request was sent. A 5xx or a timeout leaves the outcome
/// unknown, and Twilio has no idempotency key: those are never retried here (see Replies/ReplySender).
/// </summary>
internal sealed class TwilioApiClients(IHttpClientFactory http, AccountTokens tokens)
{
    public const string HttpClientName = "twilio-api";

    /// <summary>As long as the factory keeps a handler (its default): a client is then built again on a fresh one.</summary>
    private const long ReuseMilliseconds = 2 * 60 * 1000;

    /// <summary>
    /// The last client built per account. A client per call (a factory HttpClient, its options and handler lookup,
    /// the SDK's wrappers) was a measurable part of a reply push; TwilioRestClient is made to be shared (the SDK's
    /// own static client is). Reused only with the same token, so a changed or removed token takes effect at once; only
    /// configured accounts (a token) have an entry.
    /// </summary>
    private readonly ConcurrentDictionary<string, Built> _built = new(StringComparer.Ordinal);

    private sealed record Built(string Token, ITwilioRestClient Client, long At);

    public async Task<ITwilioRestClient?> ForAccountAsync(string accountSid, CancellationToken ct)
    {
        var token = await tokens.FindAsync(accountSid, ct);
        if (token is null)
        {
            _built.TryRemove(accountSid, out _);
            return null;
        }
        var now = Environment.TickCount64;
        if (_built.TryGetValue(accountSid, out var built) && built.Token == token && now - built.At < ReuseMilliseconds) return built.Client;
        var client = new TwilioRestClient(accountSid, token, httpClient: new TwilioHttp(http.CreateClient(HttpClientName)));
        _built[accountSid] = new Built(token, client, now);
        return client;
    }

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<TwilioApiClients>();
        services.AddTransient<TwilioHostRewriter>();
        services.AddTransient<TwilioCallDeadline>();
        services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            // The factory's request loggers log at Information only (this category is at Warning: they wrote nothing
            // and still opened a log scope per call), and a list lookup's URL carries the customer's number. Failures
            // are logged by the callers, with what they mean; Polly logs its retries.
            .RemoveAllLoggers()
            // Outermost, so a caller that stops waiting also ends the retries' delays.
            .AddHttpMessageHandler<TwilioCallDeadline>()
            .AddHttpMessageHandler<TwilioHostRewriter>()
            .AddResilienceHandler("twilio-certainly-unprocessed", pipeline =>
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 3,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(300),
                    ShouldRetryAfterHeader = true,
                    ShouldHandle = args => ValueTask.FromResult(CertainlyUnprocessed(args.Outcome)),
                });
            });
    }

    internal static bool CertainlyUnprocessed(Outcome<HttpResponseMessage> outcome) =>
        outcome.Result?.StatusCode == HttpStatusCode.TooManyRequests
        || outcome.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError };
}

/// <summary>Points every SDK request at Twilio:ApiBaseUrl (tests: WireMock; production: https://api.twilio.com).</summary>
internal sealed class TwilioHostRewriter(IOptions<TwilioApiOptions> options) : DelegatingHandler
{
    // Parsed once per handler (the factory builds one every few minutes), not per request.
    private readonly Uri _target = options.Value.ApiBaseUri;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Production's target is Twilio's own host: nothing to rewrite.
        if (request.RequestUri is { IsAbsoluteUri: true } uri
            && (uri.Scheme != _target.Scheme || uri.Port != _target.Port || !string.Equals(uri.Host, _target.Host, StringComparison.OrdinalIgnoreCase)))
            request.RequestUri = new Uri(_target, uri.PathAndQuery);
        return base.SendAsync(request, cancellationToken);
    }
}
