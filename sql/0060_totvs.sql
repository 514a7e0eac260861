-- TOTVS (seed 003): master data synced from the ERP, the sync watermarks, and the production lots.
--
-- Master data rows are upserted page by page by the sync grain (TotvsSyncGrain); the entity's watermark
-- (the largest alterado_em stored) is saved only after its last page, so after a crash the next run asks
-- TOTVS again for everything since the previous watermark (upserts are idempotent), never less.

CREATE TABLE IF NOT EXISTS totvs_produtos (
    instancia        varchar(63)   NOT NULL,
    codigo           varchar(64)   NOT NULL,
    descricao        varchar(500)  NULL,
    unidade          varchar(16)   NULL,
    ativo            boolean       NOT NULL DEFAULT true,
    alterado_em      timestamptz   NULL,
    sincronizado_em  timestamptz   NOT NULL,
    PRIMARY KEY (instancia, codigo)
);

CREATE TABLE IF NOT EXISTS totvs_insumos (
    instancia        varchar(63)   NOT NULL,
    codigo           varchar(64)   NOT NULL,
    descricao        varchar(500)  NULL,
    unidade          varchar(16)   NULL,
    alterado_em      timestamptz   NULL,
    sincronizado_em  timestamptz   NOT NULL,
    PRIMARY KEY (instancia, codigo)
);

CREATE TABLE IF NOT EXISTS totvs_lotes_insumo (
    instancia        varchar(63)   NOT NULL,
    insumo           varchar(64)   NOT NULL,
    lote             varchar(64)   NOT NULL,
    validade         date          NULL,
    quantidade       numeric       NULL,
    unidade          varchar(16)   NULL,
    alterado_em      timestamptz   NULL,
    sincronizado_em  timestamptz   NOT NULL,
    PRIMARY KEY (instancia, insumo, lote)
);

-- Units per minute of a SKU on a line; a change is also handed to the line grain (SetNominalSpeedAsync).
CREATE TABLE IF NOT EXISTS totvs_velocidades_nominais (
    instancia            varchar(63)       NOT NULL,
    sku                  varchar(64)       NOT NULL,
    linha                varchar(64)       NOT NULL,
    unidades_por_minuto  double precision  NOT NULL,
    alterado_em          timestamptz       NULL,
    sincronizado_em      timestamptz       NOT NULL,
    PRIMARY KEY (instancia, sku, linha)
);

-- Per service and entity: the largest alterado_em stored, sent back as ?alteradoDesde= on the next run.
CREATE TABLE IF NOT EXISTS totvs_sincronizacao (
    servico_id   bigint        NOT NULL,
    entidade     varchar(32)   NOT NULL,
    watermark    timestamptz   NULL,
    atualizado_em timestamptz  NOT NULL,
    PRIMARY KEY (servico_id, entidade)
);

-- A production lot (seed's lotes_producao): opened by TOTVS (webhook or sync), started on its line,
-- closed with the supervisor's signature. The row is also the outbox of the close: status fechado with
-- evento_id NULL means the lote.fechado event is still to be published (see LotWorkflowGrain).
CREATE TABLE IF NOT EXISTS lotes_producao (
    id                    bigserial         PRIMARY KEY,
    instancia             varchar(63)       NOT NULL,
    numero_op             varchar(64)       NOT NULL,
    sku                   varchar(64)       NOT NULL,
    lote                  varchar(64)       NOT NULL,
    linha                 varchar(64)       NOT NULL,
    quantidade_planejada  bigint            NOT NULL,
    validade              date              NULL,
    status                varchar(20)       NOT NULL,
    origem                varchar(20)       NOT NULL,
    dados                 jsonb             NOT NULL DEFAULT '{}',
    criado_em             timestamptz       NOT NULL,
    atualizado_em         timestamptz       NOT NULL,
    iniciado_em           timestamptz       NULL,
    assinado_por          varchar(200)      NULL,
    assinado_em           timestamptz       NULL,
    fechado_em            timestamptz       NULL,
    producao_total        bigint            NULL,
    producao_boa          bigint            NULL,
    perdas_qualidade      bigint            NULL,
    tempo_produzindo      double precision  NULL,
    tempo_parado          double precision  NULL,
    oee                   double precision  NULL,
    evento_id             uuid              NULL,
    UNIQUE (instancia, numero_op)
);
CREATE INDEX IF NOT EXISTS ix_lotes_producao_linha ON lotes_producao (instancia, linha, status, id);
CREATE INDEX IF NOT EXISTS ix_lotes_producao_status ON lotes_producao (instancia, status, id);
-- The close outbox: closed lots whose event is not yet published.
CREATE INDEX IF NOT EXISTS ix_lotes_producao_pendentes ON lotes_producao (instancia) WHERE status = 'fechado' AND evento_id IS NULL;
