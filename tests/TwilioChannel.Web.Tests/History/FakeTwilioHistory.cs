using System.Globalization;
using System.Text.Json.Nodes;
using TwilioChannel.Web.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace TwilioChannel.Web.Tests.History;

/// <summary>
/// Twilio's Messages list as the real one behaves: filtered by To or From and by DateSent (whole days), newest first,
/// in pages linked by next_page_uri, with no total count. Pages can be made slow or failing to test resume and cancel.
/// </summary>
public sealed class FakeTwilioHistory
{
    private readonly WireMockServer _server;
    private readonly List<JsonObject> _messages = [];
    private readonly int _pageSize;

    public FakeTwilioHistory(WireMockServer server, int pageSize)
    {
        _server = server;
        _pageSize = pageSize;
        _server.Given(Request.Create().WithPath(FakeTwilio.MessagesPath).UsingGet())
            .RespondWith(Response.Create().WithCallback(request =>
            {
                if (Delay > TimeSpan.Zero) Thread.Sleep(Delay);
                var query = request.Query ?? new Dictionary<string, WireMock.Types.WireMockList<string>>();
                string? Q(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
                var pageIndex = int.TryParse(Q("Page"), out var p) ? p : 0;
                if (FailPage == pageIndex)
                    return FailStatus == 500
                        ? new WireMock.ResponseMessage { StatusCode = 500, BodyData = Body("""{"code":20500,"message":"Internal Server Error","status":500}""") }
                        : new WireMock.ResponseMessage { StatusCode = FailStatus, BodyData = Body($$"""{"code":20003,"message":"Authenticate","status":{{FailStatus}}}""") };
                Requests++;
                return new WireMock.ResponseMessage
                {
                    StatusCode = 200,
                    Headers = new Dictionary<string, WireMock.Types.WireMockList<string>> { ["Content-Type"] = new("application/json") },
                    BodyData = Body(PageJson(Q("To"), Q("From"), Q("DateSent>"), pageIndex)),
                };
            }));
    }

    /// <summary>Answer this page index with <see cref="FailStatus"/> (null: none).</summary>
    public int? FailPage { get; set; }

    /// <summary>500 (Twilio's passing error), or a refusal such as 403 (error 20003, "Authenticate": a revoked key).</summary>
    public int FailStatus { get; set; } = 500;

    public TimeSpan Delay { get; set; }

    public int Requests { get; private set; }

    public void Add(string sid, string from, string to, string body, DateTime sentUtc, bool inbound, string? messagingServiceSid = null, int numMedia = 0) =>
        _messages.Add(new JsonObject
        {
            ["sid"] = sid, ["account_sid"] = Fixtures.AccountSid, ["from"] = from, ["to"] = to, ["body"] = body,
            ["status"] = inbound ? "received" : "delivered", ["direction"] = inbound ? "inbound" : "outbound-api",
            ["date_created"] = sentUtc.ToString("R"), ["date_sent"] = sentUtc.ToString("R"), ["date_updated"] = sentUtc.ToString("R"),
            ["num_media"] = numMedia.ToString(CultureInfo.InvariantCulture), ["num_segments"] = "1", ["api_version"] = "2010-04-01", ["messaging_service_sid"] = messagingServiceSid,
            ["uri"] = $"/2010-04-01/Accounts/{Fixtures.AccountSid}/Messages/{sid}.json",
        });

    private string PageJson(string? to, string? from, string? sinceDay, int pageIndex)
    {
        var day = sinceDay is null ? DateTime.MinValue : DateTime.ParseExact(sinceDay.TrimStart('='), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        var matching = _messages
            .Where(m => (to is null || (string)m["to"]! == to) && (from is null || (string)m["from"]! == from))
            .Where(m => DateTime.Parse((string)m["date_sent"]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal).Date >= day.Date)
            .OrderByDescending(m => DateTime.Parse((string)m["date_sent"]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal))
            .ToList();
        var page = matching.Skip(pageIndex * _pageSize).Take(_pageSize).ToList();
        var filter = (to is null ? "" : "To=" + System.Uri.EscapeDataString(to) + "&") + (from is null ? "" : "From=" + System.Uri.EscapeDataString(from) + "&") + (sinceDay is null ? "" : $"DateSent%3E={sinceDay.TrimStart('=')}&");
        string PageUri(int index) => $"{FakeTwilio.MessagesPath}?{filter}PageSize={_pageSize}&Page={index}&PageToken=PA{index}";
        var hasNext = (pageIndex + 1) * _pageSize < matching.Count;
        return new JsonObject
        {
            ["messages"] = new JsonArray(page.Select(m => (JsonNode)m.DeepClone()).ToArray()),
            ["end"] = pageIndex * _pageSize + page.Count - 1, ["page"] = pageIndex, ["page_size"] = _pageSize, ["start"] = pageIndex * _pageSize,
            ["first_page_uri"] = PageUri(0), ["next_page_uri"] = hasNext ? PageUri(pageIndex + 1) : null, ["previous_page_uri"] = null, ["uri"] = PageUri(pageIndex),
        }.ToJsonString();
    }

    private static WireMock.Util.BodyData Body(string json) => new()
    {
        BodyAsString = json, DetectedBodyType = WireMock.Types.BodyType.String, Encoding = System.Text.Encoding.UTF8,
    };
}
