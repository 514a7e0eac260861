-- Integration services registry: ids and execution history (seed 000).
--
-- The services themselves are grains (IntegrationServiceGrain) persisted through the Orleans ADO.NET
-- storage provider; their ids come from this sequence so they stay the seed's integers and are unique
-- across instances. Executions are append-only rows in their own table: they are history, not grain
-- state, and must not make a grain's state grow without bound.

CREATE SEQUENCE IF NOT EXISTS integracoes_servicos_id_seq AS bigint START 1;

CREATE TABLE IF NOT EXISTS integracoes_execucoes (
    id            bigserial    PRIMARY KEY,
    instance      varchar(63)  NOT NULL,
    servico_id    bigint       NOT NULL,
    inicio        timestamptz  NOT NULL,
    fim           timestamptz  NULL,
    status        varchar(20)  NOT NULL,
    request_data  jsonb        NULL,
    response_data jsonb        NULL,
    error_log     text         NULL,
    processados   integer      NOT NULL DEFAULT 0,
    sucesso       integer      NOT NULL DEFAULT 0,
    falha         integer      NOT NULL DEFAULT 0
);

-- Listing is always scoped to an instance, newest first, optionally by service and status.
CREATE INDEX IF NOT EXISTS ix_execucoes_instance_servico ON integracoes_execucoes (instance, servico_id, inicio DESC);
CREATE INDEX IF NOT EXISTS ix_execucoes_instance_status  ON integracoes_execucoes (instance, status, inicio DESC);
CREATE INDEX IF NOT EXISTS ix_execucoes_inicio           ON integracoes_execucoes (inicio);
