-- Request log of the HTTP API (seed 001 APIRequestLog): one row per request, never bodies or secrets.
-- Written in batches off the request path by RequestLogWriter; purged after the retention period.
CREATE TABLE IF NOT EXISTS api_requisicoes (
    id          bigserial    PRIMARY KEY,
    metodo      varchar(10)  NOT NULL,
    rota        varchar(200) NOT NULL,
    status      integer      NOT NULL,
    duracao_ms  real         NOT NULL,
    ip          varchar(64)  NULL,
    user_agent  varchar(256) NULL,
    instance    varchar(63)  NULL,
    key_id      varchar(32)  NULL,
    created_at  timestamptz  NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_api_requisicoes_created ON api_requisicoes (created_at DESC);
CREATE INDEX IF NOT EXISTS ix_api_requisicoes_status ON api_requisicoes (status, created_at DESC);
