-- Production lines (seed 003). One row per production order a line ran (and per stretch a line counted
-- without an order, ordem = ''). The active row of a line is rewritten every 5 s with its counters AND
-- the sensor-file positions those counters include (posicoes), in one statement: after a crash the row
-- is consistent, and the line re-reads its files from those positions without double counting.
CREATE TABLE IF NOT EXISTS ordens_producao_ativas (
    id                    bigserial        PRIMARY KEY,
    instancia             varchar(63)      NOT NULL,
    linha                 varchar(64)      NOT NULL,
    ordem                 varchar(64)      NOT NULL,
    sku                   varchar(64)      NULL,
    lote                  varchar(64)      NULL,
    lote_id               bigint           NULL,
    quantidade_planejada  bigint           NOT NULL DEFAULT 0,
    velocidade_nominal    double precision NOT NULL DEFAULT 0,
    ativa                 boolean          NOT NULL DEFAULT true,
    inicio                timestamptz      NOT NULL,
    fim                   timestamptz      NULL,
    total                 bigint           NOT NULL DEFAULT 0,
    rejeitos              bigint           NOT NULL DEFAULT 0,
    tempo_produzindo      double precision NOT NULL DEFAULT 0,
    tempo_parado          double precision NOT NULL DEFAULT 0,
    reinicio_contador     integer          NOT NULL DEFAULT 0,
    ultima_amostra        timestamptz      NULL,
    -- The line's sensor state (last raw counters, last production, state since, the open minute).
    sensor                jsonb            NOT NULL DEFAULT '{}',
    posicoes              jsonb            NOT NULL DEFAULT '{}',
    -- Increases with every write of the row; a write never replaces a newer one.
    versao                bigint           NOT NULL DEFAULT 0,
    atualizado_em         timestamptz      NOT NULL
);
-- At most one active row per line.
CREATE UNIQUE INDEX IF NOT EXISTS ux_ordens_producao_ativas_linha ON ordens_producao_ativas (instancia, linha) WHERE ativa;
CREATE INDEX IF NOT EXISTS ix_ordens_producao_ativas_ordem ON ordens_producao_ativas (instancia, ordem);

-- Per-minute history for charts: what a line produced and rejected in each minute of sensor time.
-- A minute is written once it has closed, in the same transaction as the row that no longer holds it.
CREATE TABLE IF NOT EXISTS contadores_minuto (
    instancia  varchar(63)  NOT NULL,
    linha      varchar(64)  NOT NULL,
    minuto     timestamptz  NOT NULL,
    ordem      varchar(64)  NOT NULL,
    producao   bigint       NOT NULL,
    rejeicao   bigint       NOT NULL,
    PRIMARY KEY (instancia, linha, minuto, ordem)
);
