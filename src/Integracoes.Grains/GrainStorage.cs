namespace Integracoes.Grains;

/// <summary>The one grain storage provider: PostgreSQL through Orleans ADO.NET persistence.</summary>
public static class GrainStorage
{
    public const string Name = "integracoes";
}
