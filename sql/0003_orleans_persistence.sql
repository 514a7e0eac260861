-- =============================================================================
-- 0003_orleans_persistence.sql
--
-- Purpose : grain state storage for Orleans.
-- Read by : Microsoft.Orleans.Persistence.AdoNet 10.4.x (AddAdoNetGrainStorage),
--           invariant "Npgsql".
-- Requires: 0001_orleans_main.sql (OrleansQuery).
--
-- Query keys defined here
--   required by the provider : WriteToStorageKey, ReadFromStorageKey, ClearStorageKey
--   needed with DeleteStateOnClear = true : DeleteStorageKey
--
-- How a grain is identified
--   The provider splits the grain key into GrainIdN0/GrainIdN1 (the integer
--   or Guid part; 0 for string keys) and GrainIdExtensionString (the string
--   key or key extension, NULL when there is none). GrainTypeString is the
--   state name (as in [PersistentState("name")]), GrainIdHash is a hash of
--   the full GrainId (so it also tells grain classes apart) and GrainTypeHash
--   a hash of GrainTypeString. ServiceId is ClusterOptions.ServiceId. All
--   seven together identify one state row; the lookup index starts with the
--   two hashes because they are small and selective.
--
-- ETag / optimistic concurrency
--   Version is the grain state's ETag. Every write or clear must present the
--   version the grain last saw (@GrainStateVersion, NULL if it never saw a
--   row) and moves it on by one. The queries return the new version as
--   NewGrainStateVersion. When nothing was written (another activation wrote
--   first, e.g. during a split brain) they return NULL, no row, or the old
--   version, and the provider turns that into an InconsistentStateException.
--
-- The state itself is always stored in PayloadBinary (bytea), whatever
-- serializer is configured (AdoNetGrainStorageOptions.GrainStorageSerializer;
-- Orleans' default writes Newtonsoft JSON as UTF-8). There is no separate
-- JSON or XML column.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- Table
-- -----------------------------------------------------------------------------

CREATE TABLE OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,       -- NULL after ClearStorageKey
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NOT NULL    -- ETag, starts at 1
);

-- One row per grain state. The unique index is both the lookup path and the
-- guard that lets two concurrent first writes of the same grain produce one
-- row (the loser's INSERT ... ON CONFLICT DO NOTHING then reports a
-- conflict). NULLS NOT DISTINCT (PostgreSQL 15+) makes grains without a key
-- extension (GrainIdExtensionString IS NULL) unique as well.
CREATE UNIQUE INDEX UX_OrleansStorage_Grain
    ON OrleansStorage (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1,
                       ServiceId, GrainTypeString, GrainIdExtensionString)
    NULLS NOT DISTINCT;

COMMENT ON TABLE OrleansStorage IS
    'Orleans grain state (ADO.NET grain storage provider). Version is the state''s ETag.';


-- -----------------------------------------------------------------------------
-- Function
--
-- A write is either an update of an existing row (the grain has an ETag) or
-- the first insert (it has none). Choosing between the two and reporting
-- "not written" needs branching, hence a PL/pgSQL function. It returns the
-- new version, or NULL if nothing was written.
-- -----------------------------------------------------------------------------

CREATE FUNCTION orleans_write_to_storage(
    p_grain_id_hash               integer,
    p_grain_id_n0                 bigint,
    p_grain_id_n1                 bigint,
    p_grain_type_hash             integer,
    p_grain_type_string           text,
    p_grain_id_extension_string   text,
    p_service_id                  text,
    p_grain_state_version         integer,
    p_payload_binary              bytea)
RETURNS integer
LANGUAGE plpgsql
AS $function$
DECLARE
    new_version integer;
BEGIN
    IF p_grain_state_version IS NOT NULL THEN
        -- The grain has seen this row: overwrite it only if nobody wrote it
        -- since (its Version is still the one the grain saw).
        UPDATE OrleansStorage
           SET PayloadBinary = p_payload_binary,
               Version       = Version + 1,
               ModifiedOn    = now()
         WHERE GrainIdHash     = p_grain_id_hash
           AND GrainTypeHash   = p_grain_type_hash
           AND GrainIdN0       = p_grain_id_n0
           AND GrainIdN1       = p_grain_id_n1
           AND ServiceId       = p_service_id
           AND GrainTypeString = p_grain_type_string
           AND GrainIdExtensionString IS NOT DISTINCT FROM p_grain_id_extension_string
           AND Version         = p_grain_state_version
        RETURNING Version INTO new_version;
    ELSE
        -- The grain has never seen a row: create it with version 1. If a row
        -- exists already, the unique index turns the insert into a no-op.
        INSERT INTO OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
             GrainIdExtensionString, ServiceId, PayloadBinary, Version)
        VALUES
            (p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type_string,
             p_grain_id_extension_string, p_service_id, p_payload_binary, 1)
        ON CONFLICT DO NOTHING
        RETURNING Version INTO new_version;
    END IF;

    -- Still NULL if no row was updated or inserted: a version conflict.
    RETURN new_version;
END
$function$;

COMMENT ON FUNCTION orleans_write_to_storage IS
    'WriteToStorageKey: inserts or version-checked updates one grain state. Returns the new version, NULL on conflict.';


-- -----------------------------------------------------------------------------
-- Named queries
--
-- All of them find the row with the same seven-column match as the function.
-- -----------------------------------------------------------------------------

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('WriteToStorageKey', $query$
SELECT orleans_write_to_storage(
    @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
    @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary)
    AS NewGrainStateVersion;
$query$),

-- No row: the grain starts from its default state with no ETag.
-- Row with NULL payload (cleared): default state, but the ETag is kept.
('ReadFromStorageKey', $query$
SELECT PayloadBinary,
       Version
  FROM OrleansStorage
 WHERE GrainIdHash     = @GrainIdHash
   AND GrainTypeHash   = @GrainTypeHash
   AND GrainIdN0       = @GrainIdN0
   AND GrainIdN1       = @GrainIdN1
   AND ServiceId       = @ServiceId
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;
$query$),

-- ClearStateAsync with DeleteStateOnClear = false (the default): keeps the
-- row, drops the payload and moves the version on, so the ETag survives.
-- No row returned means a version conflict (unless the grain had no ETag).
('ClearStorageKey', $query$
UPDATE OrleansStorage
   SET PayloadBinary = NULL,
       Version       = Version + 1,
       ModifiedOn    = now()
 WHERE GrainIdHash     = @GrainIdHash
   AND GrainTypeHash   = @GrainTypeHash
   AND GrainIdN0       = @GrainIdN0
   AND GrainIdN1       = @GrainIdN1
   AND ServiceId       = @ServiceId
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
   AND Version         = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
$query$),

-- ClearStateAsync with DeleteStateOnClear = true: removes the row. It
-- returns version + 1 only so that the provider sees a value different from
-- the ETag it sent (equal would mean "conflict"); the grain's ETag becomes
-- NULL afterwards and its next write inserts a fresh row.
('DeleteStorageKey', $query$
DELETE FROM OrleansStorage
 WHERE GrainIdHash     = @GrainIdHash
   AND GrainTypeHash   = @GrainTypeHash
   AND GrainIdN0       = @GrainIdN0
   AND GrainIdN1       = @GrainIdN1
   AND ServiceId       = @ServiceId
   AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
   AND Version         = @GrainStateVersion
RETURNING Version + 1 AS NewGrainStateVersion;
$query$);
