namespace Integracoes.Abstractions.Common;

/// <summary>Bounds text echoed back in errors or stored in bounded columns.</summary>
public static class TextBounds
{
    /// <summary>The text cut to <paramref name="max"/> characters, followed by <paramref name="ellipsis"/> when cut.</summary>
    public static string Shorten(string text, int max, string ellipsis = "") => text.Length <= max ? text : text[..max] + ellipsis;
}
