-- =============================================================================
-- 0002_orleans_clustering.sql
--
-- Purpose : cluster membership storage for Orleans.
-- Read by : Microsoft.Orleans.Clustering.AdoNet 10.4.x (silos, through
--           UseAdoNetClustering, and clients, through the gateway list
--           provider), invariant "Npgsql".
-- Requires: 0001_orleans_main.sql (OrleansQuery).
--
-- Query keys defined here
--   required by the provider : InsertMembershipVersionKey, InsertMembershipKey,
--                              UpdateMembershipKey, UpdateIAmAlivetimeKey,
--                              MembershipReadRowKey, MembershipReadAllKey,
--                              GatewaysQueryKey, DeleteMembershipTableEntriesKey,
--                              CleanupDefunctSiloEntriesKey
--   optional (used if present): CleanupDefunctSiloEntryKey
--
-- Vocabulary
--   DeploymentId : the Orleans ClusterId (ClusterOptions.ClusterId).
--   Status       : Orleans SiloStatus as an integer: 0 None, 1 Created,
--                  2 Joining, 3 Active, 4 ShuttingDown, 5 Stopping, 6 Dead.
--   Version      : the membership table's etag, one counter per cluster.
--
-- Concurrency model (the Orleans membership protocol)
--   Every change to a silo row (insert or update) must name the table version
--   the silo read before deciding on the change. The change succeeds only if
--   that version is still current, and it then bumps the version by one, all
--   atomically. If another silo changed the table in the meantime the write
--   returns 0 and Orleans re-reads the table and tries again. Heartbeats
--   (UpdateIAmAlivetimeKey) and clean-up deletes are the only writes that do
--   not take part in this versioning.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- Tables
-- -----------------------------------------------------------------------------

-- One row per cluster. Created by the first silo that starts
-- (InsertMembershipVersionKey) and holds the cluster's membership version.
CREATE TABLE OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),   -- last time Version changed
    Version      integer        NOT NULL DEFAULT 0,

    CONSTRAINT PK_OrleansMembershipVersionTable PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation. A restarted silo comes back with a new
-- Generation, so it gets a new row; old rows stay (normally as Dead) until
-- the defunct-silo clean-up removes them.
CREATE TABLE OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,             -- IPv4 or IPv6 in text form
    Port         integer        NOT NULL,             -- silo-to-silo port
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,             -- SiloStatus, see header
    ProxyPort    integer        NOT NULL DEFAULT 0,   -- gateway port for clients; 0 = not a gateway
    SuspectTimes text           NULL,                 -- votes "silo,time|silo,time", written by Orleans
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,             -- last heartbeat of the silo itself

    CONSTRAINT PK_OrleansMembershipTable PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_OrleansMembershipTable_OrleansMembershipVersionTable
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

COMMENT ON TABLE OrleansMembershipVersionTable IS
    'Orleans cluster membership: one row per ClusterId with the membership table version (etag).';
COMMENT ON TABLE OrleansMembershipTable IS
    'Orleans cluster membership: one row per silo incarnation (address, port, generation).';


-- -----------------------------------------------------------------------------
-- Functions
--
-- Inserting or updating a silo row is "check the version, change the row,
-- bump the version" and must either happen completely or not at all. Plain
-- SQL cannot express the "row already exists / row missing => change nothing"
-- branches cleanly, so these two steps live in PL/pgSQL functions.
--
-- Both functions start by locking the cluster's version row, and only if it
-- still carries the version the caller read. SELECT ... FOR UPDATE re-checks
-- its WHERE clause after waiting for a concurrent writer, so when two silos
-- race with the same version exactly one of them gets the row; the other sees
-- no row and returns 0. Because the version is bumped last, an early RETURN 0
-- leaves the database untouched; no exception handling (and no ASSERT, which
-- the server can switch off with plpgsql.check_asserts) is needed to undo
-- anything.
-- -----------------------------------------------------------------------------

CREATE FUNCTION orleans_insert_membership(
    p_deployment_id   text,
    p_address         text,
    p_port            integer,
    p_generation      integer,
    p_silo_name       text,
    p_host_name       text,
    p_status          integer,
    p_proxy_port      integer,
    p_start_time      timestamptz,
    p_i_am_alive_time timestamptz,
    p_version         integer)
RETURNS integer
LANGUAGE plpgsql
AS $function$
DECLARE
    inserted integer;
BEGIN
    PERFORM 1
      FROM OrleansMembershipVersionTable
     WHERE DeploymentId = p_deployment_id
       AND Version = p_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;   -- stale version (or unknown cluster)
    END IF;

    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName,
         Status, ProxyPort, StartTime, IAmAliveTime)
    VALUES
        (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name,
         p_status, p_proxy_port, p_start_time, p_i_am_alive_time)
    ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;

    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted = 0 THEN
        RETURN 0;   -- this silo incarnation is already registered
    END IF;

    UPDATE OrleansMembershipVersionTable
       SET Version   = Version + 1,
           Timestamp = now()
     WHERE DeploymentId = p_deployment_id;

    RETURN 1;
END
$function$;

COMMENT ON FUNCTION orleans_insert_membership IS
    'InsertMembershipKey: adds a silo row and bumps the membership version if the caller''s version is current. Returns 1 on success, 0 otherwise.';


CREATE FUNCTION orleans_update_membership(
    p_deployment_id   text,
    p_address         text,
    p_port            integer,
    p_generation      integer,
    p_status          integer,
    p_suspect_times   text,
    p_i_am_alive_time timestamptz,
    p_version         integer)
RETURNS integer
LANGUAGE plpgsql
AS $function$
DECLARE
    updated integer;
BEGIN
    PERFORM 1
      FROM OrleansMembershipVersionTable
     WHERE DeploymentId = p_deployment_id
       AND Version = p_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;   -- stale version (or unknown cluster)
    END IF;

    -- Updates are often written by another silo (e.g. one voting to declare
    -- this silo dead) from an entry it read earlier. GREATEST keeps a newer
    -- heartbeat that the silo itself wrote in the meantime.
    UPDATE OrleansMembershipTable
       SET Status       = p_status,
           SuspectTimes = p_suspect_times,
           IAmAliveTime = GREATEST(IAmAliveTime, p_i_am_alive_time)
     WHERE DeploymentId = p_deployment_id
       AND Address      = p_address
       AND Port         = p_port
       AND Generation   = p_generation;

    GET DIAGNOSTICS updated = ROW_COUNT;
    IF updated = 0 THEN
        RETURN 0;   -- no such silo row
    END IF;

    UPDATE OrleansMembershipVersionTable
       SET Version   = Version + 1,
           Timestamp = now()
     WHERE DeploymentId = p_deployment_id;

    RETURN 1;
END
$function$;

COMMENT ON FUNCTION orleans_update_membership IS
    'UpdateMembershipKey: changes a silo row and bumps the membership version if the caller''s version is current. Returns 1 on success, 0 otherwise.';


-- -----------------------------------------------------------------------------
-- Named queries
-- -----------------------------------------------------------------------------

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Run by every silo at start-up. Creates the cluster's version row unless it
-- exists. Returns 1 if this call created it, 0 if it was already there.
('InsertMembershipVersionKey', $query$
WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer FROM created;
$query$),

-- A silo registers itself. @Version is the version the silo read.
('InsertMembershipKey', $query$
SELECT orleans_insert_membership(
    @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
    @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);
$query$),

-- Status changes and suspicion votes. @Version is the version the silo read.
('UpdateMembershipKey', $query$
SELECT orleans_update_membership(
    @DeploymentId, @Address, @Port, @Generation,
    @Status, @SuspectTimes, @IAmAliveTime, @Version);
$query$),

-- Periodic heartbeat of a silo on its own row. Deliberately outside the
-- versioning: it must never fail because of other silos' writes, and its
-- result is not checked.
('UpdateIAmAlivetimeKey', $query$
UPDATE OrleansMembershipTable
   SET IAmAliveTime = @IAmAliveTime
 WHERE DeploymentId = @DeploymentId
   AND Address      = @Address
   AND Port         = @Port
   AND Generation   = @Generation;
$query$),

-- One silo's row plus the table version. The LEFT JOIN makes the version come
-- back even when the silo has no row (its columns are then NULL, which the
-- provider reads as "no entry").
('MembershipReadRowKey', $query$
SELECT v.DeploymentId,
       m.Address,
       m.Port,
       m.Generation,
       m.SiloName,
       m.HostName,
       m.Status,
       m.ProxyPort,
       m.SuspectTimes,
       m.StartTime,
       m.IAmAliveTime,
       v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
        AND m.Address      = @Address
        AND m.Port         = @Port
        AND m.Generation   = @Generation
 WHERE v.DeploymentId = @DeploymentId;
$query$),

-- All rows of the cluster plus the table version, read in one statement so
-- rows and version come from the same snapshot.
('MembershipReadAllKey', $query$
SELECT v.DeploymentId,
       m.Address,
       m.Port,
       m.Generation,
       m.SiloName,
       m.HostName,
       m.Status,
       m.ProxyPort,
       m.SuspectTimes,
       m.StartTime,
       m.IAmAliveTime,
       v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
 WHERE v.DeploymentId = @DeploymentId;
$query$),

-- Used by clients: gateways of the cluster. The provider passes
-- @Status = 3 (Active).
('GatewaysQueryKey', $query$
SELECT Address,
       ProxyPort,
       Generation
  FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status       = @Status
   AND ProxyPort    > 0;
$query$),

-- Removes a whole cluster (test/tooling path of the provider). Silo rows go
-- first because of the foreign key.
('DeleteMembershipTableEntriesKey', $query$
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId;
DELETE FROM OrleansMembershipVersionTable
 WHERE DeploymentId = @DeploymentId;
$query$),

-- Defunct-silo clean-up, per row (optional key; 10.4.x prefers it when it is
-- present). The provider reads the table, picks Dead rows whose start time,
-- heartbeat and suspicion votes are all older than the cut-off, and passes
-- each row back as it read it. The row is deleted only if it is still Dead
-- and unchanged, so a concurrent update is never lost. COALESCE: the provider
-- reads an empty SuspectTimes as "no votes" and sends it back as NULL.
-- Does not change the table version (clean-up is not a membership change).
('CleanupDefunctSiloEntryKey', $query$
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Address      = @Address
   AND Port         = @Port
   AND Generation   = @Generation
   AND Status       = 6
   AND StartTime    = @StartTime
   AND IAmAliveTime = @IAmAliveTime
   AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '');
$query$),

-- Defunct-silo clean-up, in bulk (required key). Only used by the provider
-- when CleanupDefunctSiloEntryKey is absent; @IAmAliveTime is the cut-off.
-- Same rule as the per-row path: Dead rows that started, last beat and last
-- received a suspicion vote before the cut-off. Each vote is "silo,time" with
-- time written as 'yyyy-MM-dd HH:mm:ss.fff GMT', which PostgreSQL reads as a
-- UTC timestamptz. (Nearly every Dead row has votes: a silo that shuts down
-- records its own.)
('CleanupDefunctSiloEntriesKey', $query$
DELETE FROM OrleansMembershipTable m
 WHERE m.DeploymentId = @DeploymentId
   AND m.Status       = 6
   AND m.StartTime    < @IAmAliveTime
   AND m.IAmAliveTime < @IAmAliveTime
   AND NOT EXISTS (
           SELECT 1
             FROM unnest(string_to_array(m.SuspectTimes, '|')) AS vote
            WHERE NULLIF(split_part(vote, ',', 2), '')::timestamptz >= @IAmAliveTime);
$query$);
