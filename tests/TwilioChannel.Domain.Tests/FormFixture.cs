namespace TwilioChannel.Domain.Tests;

/// <summary>Reads the shared fixtures: .form files are x-www-form-urlencoded bodies exactly as Twilio posts them.</summary>
internal static class FormFixture
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    public static Dictionary<string, string> Load(string name) => Parse(File.ReadAllText(Path(name)).Trim());

    public static Dictionary<string, string> Parse(string body) =>
        body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(kv => Decode(kv[0]), kv => kv.Length > 1 ? Decode(kv[1]) : "");

    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));
}
