-- =============================================================================
-- 0004_orleans_reminders.sql
--
-- Purpose : durable reminder storage for Orleans.
-- Read by : Microsoft.Orleans.Reminders.AdoNet 10.4.x (UseAdoNetReminderService),
--           invariant "Npgsql".
-- Requires: 0001_orleans_main.sql (OrleansQuery).
--
-- Query keys defined here (all required by the provider)
--   UpsertReminderRowKey, ReadReminderRowKey, ReadReminderRowsKey,
--   ReadRangeRows1Key, ReadRangeRows2Key, DeleteReminderRowKey,
--   DeleteReminderRowsKey
--
-- Columns as the provider uses them
--   ServiceId    ClusterOptions.ServiceId.
--   GrainId      the grain's id in its string form ("type/key").
--   StartTime    first due time (UTC).
--   Period       interval in milliseconds. The provider binds an int when the
--                value fits and a bigint otherwise; the column is bigint.
--   GrainHash    the grain's uniform hash code, a uint that the provider
--                binds as a signed int (values above 2^31 arrive negative).
--                Each silo reads the reminders of its slice of the hash ring
--                with the ReadRange queries.
--   Version      the reminder's ETag: 0 on insert, +1 on every upsert.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- Table
-- -----------------------------------------------------------------------------

CREATE TABLE OrleansRemindersTable
(
    ServiceId    varchar(150)   NOT NULL,
    GrainId      varchar(512)   NOT NULL,
    ReminderName varchar(150)   NOT NULL,
    StartTime    timestamptz(3) NOT NULL,
    Period       bigint         NOT NULL,
    GrainHash    integer        NOT NULL,
    Version      integer        NOT NULL,

    CONSTRAINT PK_OrleansRemindersTable PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

-- Serves the hash-range reads every silo runs when it (re)loads its share.
CREATE INDEX IX_OrleansRemindersTable_ServiceId_GrainHash
    ON OrleansRemindersTable (ServiceId, GrainHash);

COMMENT ON TABLE OrleansRemindersTable IS
    'Orleans reminders (ADO.NET reminder service). Version is the reminder''s ETag.';


-- -----------------------------------------------------------------------------
-- Named queries
--
-- Plain SQL is enough here: the only read-modify-write (the upsert) is a
-- single INSERT ... ON CONFLICT statement.
-- -----------------------------------------------------------------------------

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Register or re-register a reminder. Returns the new ETag as Version.
('UpsertReminderRowKey', $query$
INSERT INTO OrleansRemindersTable AS r
    (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES
    (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
   SET StartTime = excluded.StartTime,
       Period    = excluded.Period,
       GrainHash = excluded.GrainHash,
       Version   = r.Version + 1
RETURNING r.Version AS Version;
$query$),

-- One reminder of one grain.
('ReadReminderRowKey', $query$
SELECT GrainId,
       ReminderName,
       StartTime,
       Period,
       Version
  FROM OrleansRemindersTable
 WHERE ServiceId    = @ServiceId
   AND GrainId      = @GrainId
   AND ReminderName = @ReminderName;
$query$),

-- All reminders of one grain.
('ReadReminderRowsKey', $query$
SELECT GrainId,
       ReminderName,
       StartTime,
       Period,
       Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainId   = @GrainId;
$query$),

-- Reminders whose GrainHash lies in the ring range (@BeginHash, @EndHash].
-- The provider uses this key when @BeginHash < @EndHash (compared as signed
-- ints), i.e. when the range does not wrap around.
('ReadRangeRows1Key', $query$
SELECT GrainId,
       ReminderName,
       StartTime,
       Period,
       Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainHash > @BeginHash
   AND GrainHash <= @EndHash;
$query$),

-- Same for a range that wraps around (@BeginHash >= @EndHash): everything
-- after @BeginHash plus everything up to and including @EndHash.
('ReadRangeRows2Key', $query$
SELECT GrainId,
       ReminderName,
       StartTime,
       Period,
       Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
$query$),

-- Unregister one reminder, only if its ETag (@Version) is still current.
-- Returns the number of rows deleted (1 = success, 0 = stale ETag or gone).
('DeleteReminderRowKey', $query$
WITH deleted AS (
    DELETE FROM OrleansRemindersTable
     WHERE ServiceId    = @ServiceId
       AND GrainId      = @GrainId
       AND ReminderName = @ReminderName
       AND Version      = @Version
    RETURNING 1
)
SELECT count(*)::integer FROM deleted;
$query$),

-- Remove every reminder of the service (test/tooling path of the provider).
('DeleteReminderRowsKey', $query$
DELETE FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId;
$query$);
