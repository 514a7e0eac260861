-- Audit trail (seed 000 "Auditoria"): who changed what, when, with the before/after of non-secret
-- fields. Written by the grains right after the change they record; kept until an operator prunes it.
CREATE TABLE IF NOT EXISTS auditoria (
    id          bigserial    PRIMARY KEY,
    instancia   varchar(63)  NULL,
    ator        varchar(64)  NOT NULL,
    ip          varchar(64)  NULL,
    acao        varchar(32)  NOT NULL,
    recurso     varchar(32)  NOT NULL,
    recurso_id  varchar(64)  NULL,
    antes       jsonb        NULL,
    depois      jsonb        NULL,
    created_at  timestamptz  NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_auditoria_created ON auditoria (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS ix_auditoria_instancia ON auditoria (instancia, created_at DESC, id DESC);
