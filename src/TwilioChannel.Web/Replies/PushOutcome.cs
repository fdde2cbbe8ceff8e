using System.Text.Json.Nodes;

namespace TwilioChannel.Web.Replies;

/// <summary>What we answer Desk for one push: 200 with PUSH_REPLY_RESPONSE_OBJECT, or non-2xx with {"message"}.</summary>
internal sealed record PushOutcome(int StatusCode, JsonObject Body, int? ErrorCode = null)
{
    public bool Succeeded => StatusCode == 200;

    /// <summary>Twilio certainly did not take the message (unreachable, rate-limiting): Desk's next push of the reply
    /// may send it, as the answer tells the agent ("Try again").</summary>
    public bool NothingSent { get; init; }

    /// <summary>
    /// <see cref="Body"/> as stored with the reply, set once it is final: the push answers these exact bytes, and a
    /// repeated push answers the stored ones. Serializing it once instead of again for the answer (as a JSON result
    /// would) saves a push a second walk of the tree; the bytes are the same (default encoder, no indentation).
    /// </summary>
    public string Json => StoredJson ?? Body.ToJsonString();

    public string? StoredJson { get; init; }

    public static PushOutcome Sent(string firstSid, IReadOnlyList<string> sids, string from, string to, string extParentId, string channel) => new(200, new JsonObject
    {
        ["extId"] = firstSid,
        ["canReply"] = true,
        ["from"] = from,
        ["to"] = to,
        ["extra"] = new JsonObject
        {
            ["key"] = "twilio_reply_{{thread.id}}",
            ["value"] = new JsonObject { ["sids"] = new JsonArray(sids.Select(s => (JsonNode)s!).ToArray()), ["channel"] = channel },
            ["queriableValue"] = extParentId,
        },
    });

    /// <summary>A refusal the agent can act on (opted out, window closed, invalid number…): nothing more will happen.</summary>
    public static PushOutcome Refused(string message, int? code = null) => new(400, new JsonObject { ["message"] = message }, code);

    /// <summary>Twilio's answer is unknown or Twilio is unreachable.</summary>
    public static PushOutcome Unavailable(string message, int? code = null) => new(502, new JsonObject { ["message"] = message }, code);

    /// <summary>Twilio certainly did not process the create call: nothing went out, and a later push may try again.</summary>
    public static PushOutcome NotSent(string message, int? code = null) => Unavailable(message, code) with { NothingSent = true };
}
