using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace TwilioChannel.Web.Tests.Delivery;

/// <summary>Desk's Invoke API on 127.0.0.1: records every import call and answers what the test sets.</summary>
public sealed class FakeDesk : IDisposable
{
    public const string InvokePath = "/api/v1/invoke";
    public const string ConnectionLinkName = "twiliodeskconnection";

    public WireMockServer Server { get; } = FakeServer.Start();

    public string Url => Server.Url!;

    public FakeDesk() => Answer(200, """{"response":"{\"statusMessage\":\"SUCCESS\"}"}""");

    /// <summary>Every import call answers this from now on (replaces earlier answers).</summary>
    public void Answer(int status, string body = "{}", TimeSpan? delay = null, string? retryAfter = null)
    {
        Server.ResetMappings();
        var response = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
        if (retryAfter is not null) response = response.WithHeader("Retry-After", retryAfter);
        if (delay is { } d) response = response.WithDelay(d);
        Server.Given(Request.Create().WithPath(InvokePath).UsingPost()).AtPriority(10).RespondWith(response);
    }

    /// <summary>Calls whose form contains <paramref name="marker"/> get this answer instead.</summary>
    public void AnswerWhenContains(string marker, int status, string body = "{}") =>
        Server.Given(Request.Create().WithPath(InvokePath).UsingPost().WithBody(b => b is not null && b.Contains(marker, StringComparison.Ordinal)))
            .AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));

    public IReadOnlyList<ImportCall> Calls => Server.LogEntries
        .Where(e => e.RequestMessage.Path == InvokePath)
        .OrderBy(e => e.RequestMessage.DateTime)
        .Select(e => new ImportCall(
            e.RequestMessage.Query?.TryGetValue("orgId", out var org) == true ? org.ToString() : null,
            e.RequestMessage.Headers?.TryGetValue("HASH", out var hash) == true ? hash.ToString() : null,
            e.RequestMessage.BodyData?.BodyAsFormUrlEncoded ?? new Dictionary<string, string>(),
            e.ResponseMessage.StatusCode is int code ? code : 0,
            e.RequestMessage.DateTime))
        .ToList();

    /// <summary>Seeds the app (account, org, numbers) and gives the org a Desk connection, which turns import on
    /// (null: pull only, until <see cref="ConnectAsync"/>).</summary>
    public static async Task SeedAsync(ChannelApp app, string? connection = ConnectionLinkName)
    {
        await app.SeedAsync();
        await ConnectAsync(app, connection, deskDomain: "desk.zoho.eu");
    }

    public static async Task ConnectAsync(ChannelApp app, string? connection = ConnectionLinkName, string? deskDomain = null)
    {
        using var admin = app.Admin();
        var id = (await admin.GetFromJsonAsync<JsonElement>("/api/admin/installations")).EnumerateArray().Single().GetProperty("id").GetInt64();
        (await admin.PutAsJsonAsync($"/api/admin/installations/{id}", new { orgId = Fixtures.OrgId, connectionLinkName = connection, deskDomain })).EnsureSuccessStatusCode();
    }

    /// <summary>The calls Desk accepted.</summary>
    public IReadOnlyList<ImportCall> Accepted => Calls.Where(c => c.Status == 200).ToList();

    public void Dispose() => Server.Stop();
}

public sealed record ImportCall(string? OrgId, string? Hash, IDictionary<string, string> Form, int Status, DateTime At)
{
    public JsonElement Body => JsonDocument.Parse(Form["postBody"]).RootElement;

    public IReadOnlyList<string> ThreadExtIds => Body.GetProperty("data").GetProperty("threads").EnumerateArray().Select(t => t.GetProperty("extId").GetString()!).ToList();

    public IReadOnlyList<string> TicketExtIds => Body.GetProperty("data").GetProperty("tickets").EnumerateArray().Select(t => t.GetProperty("extId").GetString()!).ToList();

    /// <summary>HASH as the doc defines it, recomputed from what was actually sent.</summary>
    public string ExpectedHash(string secret) => Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(
        $"requestURL={Form["requestURL"]}&requestType={Form["requestType"]}&postBody={Form["postBody"]}&headers={Form["headers"]}&connectionLinkName={Form["connectionLinkName"]}")));
}
