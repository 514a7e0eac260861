namespace Integracoes.Abstractions.Common;

/// <summary>
/// Who is making a change, carried with every grain call in Orleans' <see cref="RequestContext"/> so
/// the grain that records the change knows the caller without an extra parameter on every method.
/// The HTTP front end sets the key id and client IP of each request; a grain client may set its own
/// name; changes the cluster makes by itself (a webhook disabling itself) record <see cref="System"/>.
/// </summary>
public static class AuditContext
{
    public const string System = "sistema";
    private const string ActorKey = "integracoes.actor";
    private const string IpKey = "integracoes.ip";

    public static void Set(string actor, string? ip)
    {
        RequestContext.Set(ActorKey, actor);
        if (ip is null) RequestContext.Remove(IpKey);
        else RequestContext.Set(IpKey, ip);
    }

    public static string Actor => RequestContext.Get(ActorKey) as string ?? System;

    public static string? Ip => RequestContext.Get(IpKey) as string;
}

/// <summary>The audit trail's vocabulary (public contract of <c>GET /api/auditoria/</c>).</summary>
public static class AuditActions
{
    public const string Create = "criar";
    public const string Update = "atualizar";
    public const string Delete = "excluir";
    public const string RotateSecret = "rotacionar";
    public const string Revoke = "revogar";
    public const string Redrive = "reenviar";
    public const string Recover = "recuperar";
    public const string Disable = "desativar";

    public static readonly IReadOnlyList<string> All = [Create, Update, Delete, RotateSecret, Revoke, Redrive, Recover, Disable];
}

public static class AuditResources
{
    public const string Instance = "instancia";
    public const string Key = "chave";
    public const string Service = "servico";
    public const string Webhook = "webhook";
    public const string QueueItem = "fila";
    public const string Event = "evento";
    public const string Line = "linha";

    public static readonly IReadOnlyList<string> All = [Instance, Key, Service, Webhook, QueueItem, Event, Line];
}
