#!/usr/bin/env bash
# Builds and runs Integracoes: a private PostgreSQL 15 in .data/pg (unless INTEGRACOES_CONNECTION_STRING is set),
# migrations, then the silo with the HTTP API in the foreground. Ctrl-C stops the silo, then the PostgreSQL this
# run started. Arguments are passed on to the silo.
#
# Environment (all optional):
#   INTEGRACOES_CONNECTION_STRING  use this PostgreSQL instead of the private one in .data/pg
#   INTEGRACOES_ADMIN_KEY          admin API key (default: .data/admin.key, generated and printed on first run)
#   INTEGRACOES_ENCRYPTION_KEY     base64 of 32 bytes (default: .data/encryption.key, generated on first run)
#   INTEGRACOES_HTTP_PORT          HTTP port of the API (default 5080)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/common.sh
source scripts/common.sh

SILO_DLL="$REPO_ROOT/silo/bin/Release/net10.0/Integracoes.Silo.dll"
SILO_PID=""
SILO_STOP_TIMEOUT_S=30

# shellcheck disable=SC2317 # called from the EXIT trap
stop_silo() {
  [[ -n "$SILO_PID" ]] || return 0
  if kill -0 "$SILO_PID" 2>/dev/null; then
    log "stopping the silo (pid $SILO_PID)"
    kill -TERM "$SILO_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < SILO_STOP_TIMEOUT_S * 10; i++)); do
      kill -0 "$SILO_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SILO_PID" 2>/dev/null; then
      warn "the silo did not stop within ${SILO_STOP_TIMEOUT_S}s; killing it"
      kill -KILL "$SILO_PID" 2>/dev/null || true
    fi
  fi
  wait "$SILO_PID" 2>/dev/null || true
  SILO_PID=""
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  local rc=$?
  trap '' INT TERM # a second Ctrl-C must not leave PostgreSQL behind
  trap - EXIT
  stop_silo
  pg_stop_private
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export INTEGRACOES_HTTP_PORT="${INTEGRACOES_HTTP_PORT:-5080}"

ensure_secrets
build_solution
[[ -f "$SILO_DLL" ]] || die "$SILO_DLL was not built"

if [[ -n "${INTEGRACOES_CONNECTION_STRING:-}" ]]; then
  log "using the external PostgreSQL from INTEGRACOES_CONNECTION_STRING (no private server)"
else
  pg_start_private
fi
export INTEGRACOES_CONNECTION_STRING

if port_in_use "$INTEGRACOES_HTTP_PORT"; then
  die "port $INTEGRACOES_HTTP_PORT is already in use (another ./run.sh?). Set INTEGRACOES_HTTP_PORT to another port."
fi

log "applying migrations"
(cd "$REPO_ROOT" && dotnet "$SILO_DLL" migrate) || die "migrations failed"

echo "Integracoes API on http://localhost:$INTEGRACOES_HTTP_PORT"
(cd "$REPO_ROOT" && exec dotnet "$SILO_DLL" "$@") &
SILO_PID=$!
rc=0
wait "$SILO_PID" || rc=$?
SILO_PID=""
exit "$rc"
