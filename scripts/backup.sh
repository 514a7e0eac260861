#!/usr/bin/env bash
# Writes a consistent backup of the Integracoes database: one pg_dump snapshot, in pg_dump's custom format, of every
# table (instances and their API keys, services, webhook subscriptions, the event ledger and the delivery queue with
# its pending items, the audit trail, reminders, logs, schema_migrations). The silo may keep running: pg_dump reads
# everything in one transaction snapshot, so the backup is the database as it was at one instant.
#
#   scripts/backup.sh [FILE]    default FILE: .data/backups/integracoes-<UTC timestamp>.dump
#
# Database: INTEGRACOES_CONNECTION_STRING (the Npgsql connection string the silo uses) when set, otherwise the private
# PostgreSQL of ./run.sh in .data/pg (started for the backup and stopped again if it was not running).
# Not in the backup: the encryption key (INTEGRACOES_ENCRYPTION_KEY or .data/encryption.key) and the admin key. Keep a
# copy of the encryption key beside, not inside, the backups: without it the stored credentials cannot be read.
# Restore with scripts/restore.sh FILE. Prints one line: the file and its size.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
esac
(($# <= 1)) || die "usage: scripts/backup.sh [FILE]"
target="${1:-}"

partial=""
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  local rc=$?
  trap '' INT TERM
  trap - EXIT
  if [[ -n "$partial" ]]; then rm -f "$partial"; fi
  pg_stop_private
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_postgres_binaries
pg_connect_silo_database existing
export PGAPPNAME="integracoes-backup"

if [[ -z "$target" ]]; then
  mkdir -p "$DATA_DIR/backups"
  chmod 700 "$DATA_DIR/backups"
  target="$DATA_DIR/backups/integracoes-$(date -u +%Y%m%dT%H%M%SZ).dump"
fi
[[ ! -d "$target" ]] || die "$target is a directory; name the backup file"
target_dir="$(dirname "$target")"
[[ -d "$target_dir" && -w "$target_dir" ]] || die "cannot write to the directory $target_dir"

# Written beside the target under a temporary name (mode 600: the data is the tenants') and renamed only once
# complete and readable, so a FILE that exists is always a whole backup.
partial="$(mktemp "$target_dir/.$(basename "$target").XXXXXX")"
log "backing up $(pg_describe_target)"
"$PG_BIN/pg_dump" --format=custom --no-password --file="$partial" ||
  die "pg_dump failed; no backup written"
"$PG_BIN/pg_restore" --list "$partial" >/dev/null || die "the backup just written cannot be read back; not kept"
mv -f "$partial" "$target"
partial=""

log "not in the backup: the encryption key (INTEGRACOES_ENCRYPTION_KEY or .data/encryption.key); keep a copy of it"
printf 'backup: %s (%s)\n' "$target" "$(file_size "$target")"
