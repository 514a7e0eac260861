-- Durable event delivery (seed 001 webhooks, seed 000 integracoes_filas).
--
-- Subscriptions are grains (WebhookSubscriptionGrain) persisted by Orleans; this file holds what must
-- not live in grain state: the accepted events, one queue item per (event, subscription), every
-- delivery attempt, and idempotency keys. Rows are written in batches (group commit) by DeliveryLedger.

CREATE SEQUENCE IF NOT EXISTS webhooks_id_seq AS bigint START 1;

-- Ids of queue items are handed out by the silo in blocks of 1000 (one nextval per block).
CREATE SEQUENCE IF NOT EXISTS integracoes_filas_id_seq AS bigint START 1 INCREMENT BY 1000;

-- An accepted event. dados is json (not jsonb) so the payload is delivered byte for byte as published,
-- on the first attempt and on every retry after a restart.
CREATE TABLE IF NOT EXISTS integracoes_eventos (
    id          uuid         PRIMARY KEY,
    instance    varchar(63)  NOT NULL,
    evento      varchar(100) NOT NULL,
    dados       json         NOT NULL,
    created_at  timestamptz  NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_eventos_created ON integracoes_eventos (created_at);

-- Idempotency-Key: the first answer for a key is kept 24 hours.
CREATE TABLE IF NOT EXISTS integracoes_idempotencia (
    instance    varchar(63)  NOT NULL,
    chave       varchar(200) NOT NULL,
    evento_id   uuid         NOT NULL,
    entregas    integer      NOT NULL,
    created_at  timestamptz  NOT NULL,
    PRIMARY KEY (instance, chave)
);

-- One event to one destination: the unit of retry (seed 000 integracoes_filas).
-- status: pendente (waiting or retrying), entregue, falha (dead letter).
CREATE TABLE IF NOT EXISTS integracoes_filas (
    id                bigint       PRIMARY KEY,
    instance          varchar(63)  NOT NULL,
    servico_id        bigint       NOT NULL,
    destino           varchar(20)  NOT NULL DEFAULT 'webhook',
    evento_id         uuid         NOT NULL REFERENCES integracoes_eventos (id) ON DELETE CASCADE,
    prioridade        integer      NOT NULL DEFAULT 0,
    tentativas        integer      NOT NULL DEFAULT 0,
    proxima_tentativa timestamptz  NOT NULL,
    status            varchar(20)  NOT NULL,
    resultado         jsonb        NULL,
    created_at        timestamptz  NOT NULL,
    updated_at        timestamptz  NOT NULL
);
-- The recovery sweep: which destinations have due work.
CREATE INDEX IF NOT EXISTS ix_filas_due ON integracoes_filas (proxima_tentativa) WHERE status = 'pendente';
-- A destination loading its backlog, highest priority first.
CREATE INDEX IF NOT EXISTS ix_filas_destination ON integracoes_filas (servico_id, status, prioridade DESC, id);
CREATE INDEX IF NOT EXISTS ix_filas_instance ON integracoes_filas (instance, status, id DESC);
CREATE INDEX IF NOT EXISTS ix_filas_evento ON integracoes_filas (evento_id);

-- Every delivery attempt (seed 001 WebhookLog).
CREATE TABLE IF NOT EXISTS webhook_logs (
    id          bigserial    PRIMARY KEY,
    instance    varchar(63)  NOT NULL,
    webhook_id  bigint       NOT NULL,
    fila_id     bigint       NULL,
    evento_id   uuid         NULL,
    evento      varchar(100) NOT NULL,
    tentativa   integer      NOT NULL,
    status_code integer      NULL,
    sucesso     boolean      NOT NULL,
    duracao_ms  real         NOT NULL,
    resposta    text         NULL,
    erro        text         NULL,
    created_at  timestamptz  NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_webhook_logs_webhook ON webhook_logs (webhook_id, created_at DESC);
CREATE INDEX IF NOT EXISTS ix_webhook_logs_created ON webhook_logs (created_at);
