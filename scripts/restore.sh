#!/usr/bin/env bash
# Restores a backup written by scripts/backup.sh into the Integracoes database, replacing what it holds: afterwards the
# database is the one the backup was taken from (every instance, API key, service, subscription, queued delivery,
# reminder and log), at the instant of the backup. All or nothing: one transaction, rolled back on any error.
#
#   scripts/restore.sh [--yes] FILE
#
# Stop the silo first (every silo on that database): the restore refuses to run while other sessions are connected
# to the database. On a terminal it asks for confirmation; --yes skips the question.
# Database: INTEGRACOES_CONNECTION_STRING when set, otherwise the private PostgreSQL of ./run.sh in .data/pg (started
# for the restore and stopped again if it was not running; created if this machine has none yet). The database must
# exist; an empty one will do.
# Start the silo afterwards with the encryption key it had when the backup was written (INTEGRACOES_ENCRYPTION_KEY or
# .data/encryption.key). The silo applies any newer migrations and resumes the pending deliveries. Which silos were
# running is not restored: the backup's cluster membership is cleared, so the new silo does not wait for old ones.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

assume_yes=0
backup=""
while (($# > 0)); do
  case "$1" in
    -y | --yes) assume_yes=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option $1 (usage: scripts/restore.sh [--yes] FILE)" ;;
    *)
      [[ -z "$backup" ]] || die "usage: scripts/restore.sh [--yes] FILE"
      backup="$1"
      ;;
  esac
  shift
done
[[ -n "$backup" ]] || die "usage: scripts/restore.sh [--yes] FILE"
[[ -f "$backup" && -r "$backup" ]] || die "cannot read the backup file $backup"

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  local rc=$?
  trap '' INT TERM
  trap - EXIT
  pg_stop_private
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_postgres_binaries
"$PG_BIN/pg_restore" --list "$backup" >/dev/null ||
  die "$backup is not a backup written by scripts/backup.sh (pg_dump custom format), or it is damaged"

pg_connect_silo_database any
export PGAPPNAME="integracoes-restore"
psql_target() { "$PG_BIN/psql" -X -q -w -v ON_ERROR_STOP=1 "$@"; }

target="$(pg_describe_target)"
psql_target -At -c 'SELECT 1' >/dev/null || die "cannot connect to the $target"

# A silo still running would keep serving (and writing) the data being replaced. Only sessions that belong to a user
# count: autovacuum workers have none.
in_use="$(psql_target -At -F ' ' -c "
  SELECT count(*), coalesce(string_agg(DISTINCT coalesce(nullif(application_name, ''), 'unnamed client'), ', '), '')
  FROM pg_stat_activity
  WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename IS NOT NULL
    AND coalesce(backend_type, 'client backend') = 'client backend'")"
sessions="${in_use%% *}"
if ((sessions > 0)); then
  die "$sessions other session(s) are connected to the $target (${in_use#* }).
Stop the silo (every silo using this database) and other clients, then run the restore again."
fi

if [[ -t 0 && "$assume_yes" -eq 0 ]]; then
  printf 'Replace everything in the %s with %s? Type yes: ' "$target" "$backup" >&2
  answer=""
  read -r answer || true
  [[ "$answer" == "yes" ]] || die "restore cancelled; nothing was changed"
fi

# Exact when we may: the public schema (where every table of Integracoes lives) is dropped and recreated as PostgreSQL
# 15 creates it, so tables the backup does not have (say, from a newer migration) go too and the silo re-applies
# migrations from the backup's schema_migrations. A role that does not own the schema can only replace the backup's
# own objects (--clean); anything else in the database is kept.
public_owner="$(psql_target -At -c "
  SELECT CASE WHEN nspowner = 'pg_database_owner'::regrole AND pg_has_role(current_user, nspowner, 'USAGE')
              THEN 'ours' ELSE 'other' END
  FROM pg_namespace WHERE nspname = 'public'")"
preamble="SET client_min_messages = warning;
SET lock_timeout = '10s';"
if [[ "$public_owner" == "ours" ]]; then
  preamble+="
DROP SCHEMA public CASCADE;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
COMMENT ON SCHEMA public IS 'standard public schema';"
else
  warn "$PGUSER does not own the public schema: objects that are not in the backup stay in the database"
fi
# Which silos were alive when the backup was taken is not data: a silo started on the restored database would
# otherwise count them as cluster members and try to reach them.
postamble="DO \$\$
BEGIN
  IF to_regclass('public.orleansmembershiptable') IS NOT NULL THEN
    DELETE FROM public.orleansmembershiptable;
  END IF;
END
\$\$;"

log "restoring $backup into the $target"
# One transaction that psql commits only when pg_restore produced the whole script: if pg_restore fails midway the
# COMMIT is never sent and the server rolls everything back when psql disconnects. ON_ERROR_STOP makes psql stop at
# the first failing statement, which also rolls back.
{
  printf 'BEGIN;\n%s\n' "$preamble"
  "$PG_BIN/pg_restore" --file=- --clean --if-exists --no-owner --no-acl "$backup" &&
    printf '%s\nCOMMIT;\n' "$postamble"
} | psql_target --output=/dev/null || die "restore failed; the database was left as it was"

printf 'restored: %s (%s) into the %s\n' "$backup" "$(file_size "$backup")" "$target"
