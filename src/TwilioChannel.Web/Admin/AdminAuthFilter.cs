namespace TwilioChannel.Web.Admin;

/// <summary>Authorization: Bearer &lt;admin key&gt; on every admin route; 401 otherwise.</summary>
internal sealed class AdminAuthFilter(AdminKey key) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && key.Matches(header[scheme.Length..].Trim()))
            return await next(context);

        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem("Send the admin key as 'Authorization: Bearer <key>'.", statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");
    }
}
