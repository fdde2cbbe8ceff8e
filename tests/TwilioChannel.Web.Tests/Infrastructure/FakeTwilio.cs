using System.Text.Json.Nodes;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Matchers.Request;

namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>WireMock playing Twilio's Messages API for one account.</summary>
public sealed class FakeTwilio : IDisposable
{
    public const string MessagesPath = "/2010-04-01/Accounts/" + Fixtures.AccountSid + "/Messages.json";

    public WireMockServer Server { get; } = FakeServer.Start();

    public string Url => Server.Url!;

    /// <summary>Every create call answers 201 with a fresh SID, echoing To/From/Body as Twilio does.</summary>
    public FakeTwilio AcceptMessages(string? scenario = null, string? state = null, string? next = null)
    {
        Creates(scenario, state, next).RespondWith(Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json").WithBody(Created));
        return this;
    }

    /// <summary>Create calls answer <paramref name="created"/> only once <paramref name="release"/> completes, so the
    /// message's status callbacks can reach us first, as they do when Twilio's answer is slow on its way back.</summary>
    public FakeTwilio AcceptMessagesAfter(Task release, string created)
    {
        Creates(null, null, null).RespondWith(Response.Create().WithCallback(_ =>
        {
            release.Wait(TimeSpan.FromSeconds(15));
            return new ResponseMessage
            {
                StatusCode = 201,
                Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
                BodyData = new WireMock.Util.BodyData { BodyAsString = created, DetectedBodyType = BodyType.String },
            };
        }));
        return this;
    }

    /// <summary>Create calls answer an error (status, Twilio code) as Twilio's JSON error body.</summary>
    public FakeTwilio RefuseMessages(int status, int code, string message, string? scenario = null, string? state = null, string? next = null)
    {
        Creates(scenario, state, next).RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json")
            .WithBody($$"""{"code": {{code}}, "message": "{{message}}", "more_info": "https://www.twilio.com/docs/errors/{{code}}", "status": {{status}}}"""));
        return this;
    }

    /// <summary>Create calls answer an error page that isn't Twilio's JSON, as a load balancer or proxy in front of the API
    /// does (an HTML 502 or 503 from the edge, a 4xx from a gateway).</summary>
    public FakeTwilio RefuseMessagesWithPage(int status, string? scenario = null, string? state = null, string? next = null)
    {
        Creates(scenario, state, next).RespondWith(ErrorPage(status));
        return this;
    }

    /// <summary>The Messages list (GET) answers an error page that isn't Twilio's JSON (see <see cref="RefuseMessagesWithPage"/>).</summary>
    public FakeTwilio RefuseListWithPage(int status)
    {
        Server.Given(Request.Create().WithPath(MessagesPath).UsingGet()).RespondWith(ErrorPage(status));
        return this;
    }

    private static IResponseBuilder ErrorPage(int status) => Response.Create().WithStatusCode(status).WithHeader("Content-Type", "text/html")
        .WithBody($"<html><head><title>{status}</title></head><body><h1>Error {status}</h1></body></html>");

    /// <summary>The create calls (POST), optionally in a WireMock scenario state.</summary>
    private IRespondWithAProvider Creates(string? scenario, string? state, string? next) =>
        InScenario(Server.Given(Request.Create().WithPath(MessagesPath).UsingPost()), scenario, state, next);

    /// <summary>The Messages list (GET) answers these messages, newest first. As Twilio, a DateSent&gt; filter leaves out
    /// messages not sent yet (no date_sent: queued, accepted) and those sent before its day.</summary>
    public FakeTwilio ListMessages(params JsonObject[] messages)
    {
        Server.Given(Request.Create().WithPath(MessagesPath).UsingGet())
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var query = System.Web.HttpUtility.ParseQueryString(new Uri(request.Url).Query);
                var sentAfter = query["DateSent>"] is { } day ? DateTime.Parse(day, System.Globalization.CultureInfo.InvariantCulture) : (DateTime?)null;
                var listed = messages.Where(m => sentAfter is null
                    || (m["date_sent"]?.GetValue<string>() is { } sent && DateTime.Parse(sent, System.Globalization.CultureInfo.InvariantCulture) >= sentAfter)).ToList();
                var page = new JsonObject
                {
                    ["messages"] = new JsonArray(listed.Select(m => (JsonNode)m.DeepClone()).ToArray()),
                    ["end"] = listed.Count, ["page"] = 0, ["page_size"] = 50, ["start"] = 0,
                    ["first_page_uri"] = MessagesPath, ["next_page_uri"] = null, ["previous_page_uri"] = null, ["uri"] = MessagesPath,
                };
                return new ResponseMessage
                {
                    StatusCode = 200,
                    Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
                    BodyData = new WireMock.Util.BodyData { BodyAsString = page.ToJsonString(), DetectedBodyType = BodyType.String },
                };
            }));
        return this;
    }

    /// <summary>The Messages list (GET) answers a server error.</summary>
    public FakeTwilio RefuseList(int status = 500)
    {
        Server.Given(Request.Create().WithPath(MessagesPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json")
                .WithBody($$"""{"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500", "status": {{status}}}"""));
        return this;
    }

    /// <summary>A listed message; one not sent yet (queued, accepted) has no date_sent, as at Twilio.</summary>
    public static JsonObject Message(string sid, string to, string from, string body, string status = "sent") => new()
    {
        ["sid"] = sid, ["account_sid"] = Fixtures.AccountSid, ["to"] = to, ["from"] = from, ["body"] = body, ["status"] = status,
        ["direction"] = "outbound-api", ["date_created"] = DateTime.UtcNow.ToString("R"),
        ["date_sent"] = status is "queued" or "accepted" or "scheduled" ? null : DateTime.UtcNow.ToString("R"),
        ["date_updated"] = DateTime.UtcNow.ToString("R"), ["num_media"] = "0", ["num_segments"] = "1", ["api_version"] = "2010-04-01",
        ["uri"] = $"/2010-04-01/Accounts/{Fixtures.AccountSid}/Messages/{sid}.json",
    };

    /// <summary>The forms of every create call Twilio received, in order.</summary>
    public List<IDictionary<string, string>> Sent =>
        Server.LogEntries.Where(e => e.RequestMessage.Path == MessagesPath && e.RequestMessage.Method == "POST")
            .OrderBy(e => e.RequestMessage.DateTime)
            .Select(e => (IDictionary<string, string>)e.RequestMessage.BodyData!.BodyAsFormUrlEncoded!.ToDictionary(kv => kv.Key, kv => kv.Value))
            .ToList();

    private static string Created(IRequestMessage request)
    {
        var form = request.BodyData?.BodyAsFormUrlEncoded ?? new Dictionary<string, string>();
        string Get(string key) => form.TryGetValue(key, out var v) ? v : "";
        var sid = "SM" + Guid.NewGuid().ToString("N");
        var message = Message(sid, Get("To"), Get("From"), Get("Body"), "queued");
        message["messaging_service_sid"] = Get("MessagingServiceSid") is { Length: > 0 } service ? service : null;
        return message.ToJsonString();
    }

    private static IRespondWithAProvider InScenario(IRespondWithAProvider request, string? scenario, string? state, string? next)
    {
        if (scenario is null) return request;
        request = request.InScenario(scenario);
        if (state is not null) request = request.WhenStateIs(state);
        if (next is not null) request = request.WillSetStateTo(next);
        return request;
    }

    public void Dispose() => Server.Stop();
}
