-- =============================================================================
-- 0001_orleans_main.sql
--
-- Purpose : the query catalogue shared by the Orleans ADO.NET providers.
-- Read by : Microsoft.Orleans.Clustering.AdoNet, Microsoft.Orleans.Persistence.AdoNet
--           and Microsoft.Orleans.Reminders.AdoNet 10.4.x (invariant "Npgsql").
-- Target  : PostgreSQL 15. Applied once, inside the migrator's transaction.
--
-- How the providers use it
--   The providers ship no SQL of their own. When a provider starts it runs
--       SELECT QueryKey, QueryText FROM OrleansQuery
--   (the grain storage provider narrows that to its own four keys), caches the
--   result and from then on executes only those texts. If a key that the
--   provider requires is missing, the provider fails while initialising.
--   Scripts 0002 (clustering), 0003 (persistence) and 0004 (reminders) add
--   their rows to this table.
--
-- Contract for every QueryText stored here
--   * Parameters are bound by name (@DeploymentId, @GrainIdHash, ...). The
--     names, and the names of the columns a query returns, must be exactly
--     the ones the provider uses. Column names are matched without regard to
--     case, so PostgreSQL folding unquoted names to lower case is fine.
--   * A query whose result Orleans treats as "did it work?" returns one row
--     with one column: a value > 0 means success, 0 means failure.
--   * Texts are cached at start-up: after changing a row, restart the silos.
--
-- All objects are created unqualified, i.e. in the first schema of the
-- search_path of the migrating connection. The providers also query them
-- unqualified, so their connections need the same search_path.
-- =============================================================================

CREATE TABLE OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,

    CONSTRAINT PK_OrleansQuery PRIMARY KEY (QueryKey)
);

COMMENT ON TABLE OrleansQuery IS
    'Named SQL texts executed by the Orleans ADO.NET providers (clustering, persistence, reminders). Cached by each silo at start-up.';
