using System.Text;

namespace TwilioChannel.Web.Admin;

/// <summary>
/// A body field the resource doesn't have is ignored, as before, but no longer silently: the answer carries one
/// <c>Warning: 299</c> header per field naming it and the fields there are, and the log says so. Not a 400: scripts
/// and integrations written against the documented fields may send extras (a <c>friendlyName</c> on a number, a
/// field of a later version), and refusing them would stop a whole setup over a field that changes nothing; this is
/// what Kubernetes does by default for the same reason. Fields the resource's GET returns are never named, so a script
/// writing back what it read (with its changes) gets no warning.
/// </summary>
internal sealed class UnknownFieldsWarning(ILogger<UnknownFieldsWarning> logger) : IEndpointFilter
{
    /// <summary>The read-only fields our GETs return.</summary>
    private static readonly HashSet<string> Echoed = new(StringComparer.OrdinalIgnoreCase)
        { "id", "createdAt", "updatedAt", "hasSecurityContext", "hasZohoOAuth" };

    /// <summary>The first few only: a 1 MB body of short unknown names must not get headers many times its size.</summary>
    private const int MaxNamed = 10;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context);
        foreach (var request in context.Arguments.OfType<AdminRequest>())
        {
            var unknown = (request.UnknownFields?.Keys ?? Enumerable.Empty<string>()).Where(f => !Echoed.Contains(f)).Take(MaxNamed).Select(Printable).ToList();
            if (unknown.Count == 0) continue;
            var known = string.Join(", ", request.KnownFields);
            foreach (var field in unknown)
                context.HttpContext.Response.Headers.Append("Warning", $"299 - \"Unknown field '{field}' ignored; the fields are: {known}.\"");
            logger.LogWarning("Admin API {Method} {Path}: ignored unknown fields {Fields}.", context.HttpContext.Request.Method,
                context.HttpContext.Request.Path.Value, string.Join(", ", unknown));
        }
        return result;
    }

    /// <summary>A header carries only visible ASCII: anything else in a hostile field name becomes '?', and it is cut at
    /// 64 characters.</summary>
    private static string Printable(string field)
    {
        var text = new StringBuilder(Math.Min(field.Length, 64));
        foreach (var c in field.Length > 64 ? field[..64] : field)
            text.Append(c is >= ' ' and <= '~' and not '"' and not '\\' ? c : '?');
        return text.ToString();
    }
}
