# shellcheck shell=bash
# Shared set-up for run.sh, test.sh, scripts/backup.sh and scripts/restore.sh. Source it; do not execute it.
#
# Small functions, meant to be extended (RabbitMQ, NATS, npm packages, ...):
#   ensure_apt_packages PKG...   install missing Debian packages (root only; apt-get update first)
#   ensure_postgres_binaries     PostgreSQL 15 server binaries + (as root) the `postgres` OS user
#   pg_start_private             private PostgreSQL in .data/pg; exports INTEGRACOES_CONNECTION_STRING
#   pg_stop_private              stops it again, only if pg_start_private started it
#   pg_connect_silo_database     points libpq (PGHOST, PGPORT, ...) at the database the silo uses
#   ensure_secrets               exports INTEGRACOES_ADMIN_KEY and INTEGRACOES_ENCRYPTION_KEY
#   build_solution               dotnet build Integracoes.sln -c Release
#   ensure_npm_packages DIR      npm ci in DIR (test servers and reference clients)
#   ensure_broker_servers        RabbitMQ and NATS (Debian), the SQS and Pusher servers (npm, tests/servers)
#
# Files (all under .data/, which is git-ignored):
#   .data/pg            data directory (or a symlink to /var/lib/integracoes/<hash>/pg, see pg_data_dir_setup)
#   .data/pg.port       TCP port of the private server (127.0.0.1 only)
#   .data/pg.password   password of the `integracoes` role (mode 600)
#   .data/admin.key     admin API key (mode 600)
#   .data/encryption.key  base64 of 32 random bytes (mode 600)
#   .data/backups/      where scripts/backup.sh writes when given no file (mode 700)

# ---------------------------------------------------------------------------------------------------------------------
# Basics

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DATA_DIR="$REPO_ROOT/.data"
PG_BIN="/usr/lib/postgresql/15/bin"   # never /usr/local/bin/pg_ctl: that is an unrelated wrapper on some machines
PG_DB_NAME="integracoes"
PG_DB_USER="integracoes"
PG_FIRST_PORT=5433
PG_LAST_PORT=5533

PG_STARTED_BY_US=0
PG_DATA=""
PG_OS_USER=""
PG_PORT=""
APT_UPDATED=0

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# random_string LENGTH: [A-Za-z0-9] characters from /dev/urandom (no pipes that could die of SIGPIPE).
random_string() {
  local length="$1" raw=""
  while ((${#raw} < length)); do
    raw+="$(head -c 256 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')"
  done
  printf '%s' "${raw:0:length}"
}

# write_secret FILE VALUE: writes VALUE to FILE with mode 600 (never readable by others, not even briefly).
write_secret() {
  local file="$1" value="$2"
  (
    umask 077
    printf '%s\n' "$value" >"$file.tmp"
  )
  chmod 600 "$file.tmp"
  mv -f "$file.tmp" "$file"
}

ensure_data_dir() {
  mkdir -p "$DATA_DIR"
}

# ---------------------------------------------------------------------------------------------------------------------
# Packages

apt_package_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# ensure_apt_packages PKG...: installs the packages that are not installed yet. Services that packages would start
# (e.g. the distro's own PostgreSQL cluster) are not started.
ensure_apt_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    apt_package_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0

  if ! is_root; then
    die "missing Debian packages: ${missing[*]}.
Install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}
or run this script once with sudo."
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get on this machine"

  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ((APT_UPDATED == 0)); then
    apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi

  # Keep maintainer scripts from starting services (the distro's PostgreSQL cluster, brokers, ...).
  local policy=/usr/sbin/policy-rc.d created_policy=0 rc=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# temporary, from Integracoes scripts/common.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  local apt_log
  apt_log="$(mktemp)"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >"$apt_log" 2>&1 || rc=$?
  if ((created_policy == 1)); then
    rm -f "$policy"
  fi
  if ((rc != 0)); then
    tail -n 40 "$apt_log" >&2
    rm -f "$apt_log"
    die "apt-get install ${missing[*]} failed (exit code $rc)"
  fi
  rm -f "$apt_log"
}

# ensure_postgres_binaries: PostgreSQL 15 server binaries in $PG_BIN and, when root, the OS user the servers run as.
ensure_postgres_binaries() {
  if [[ ! -x "$PG_BIN/postgres" || ! -x "$PG_BIN/initdb" || ! -x "$PG_BIN/pg_ctl" || ! -x "$PG_BIN/psql" ]]; then
    ensure_apt_packages postgresql-15
  fi
  [[ -x "$PG_BIN/postgres" ]] || die "$PG_BIN/postgres is still missing after installing postgresql-15"
  if is_root; then
    ensure_os_user postgres
  fi
}

# ensure_os_user NAME: creates a system user (no login) if it does not exist. Root only.
ensure_os_user() {
  local name="$1"
  id -u "$name" >/dev/null 2>&1 && return 0
  log "creating system user '$name'"
  useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$name" ||
    die "could not create the system user '$name'"
}

# ---------------------------------------------------------------------------------------------------------------------
# Private PostgreSQL (run.sh only; tests start their own throwaway servers)

# as_pg_owner CMD...: runs CMD as the OS user that owns the cluster (runuser when we are root), from / so that a
# current directory the user cannot read does not matter.
as_pg_owner() {
  if is_root; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

pg_ctl_owner() { as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" "$@"; }

# pg_ctl_start: starts the server in a session of its own (setsid), so that a Ctrl-C in the terminal reaches the
# silo and this script but not PostgreSQL, which is stopped last, by the EXIT trap.
pg_ctl_start() {
  local cmd=("$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start)
  if is_root; then
    cmd=(runuser -u "$PG_OS_USER" -- "${cmd[@]}")
  fi
  (cd / && setsid -w "${cmd[@]}")
}

# port_in_use PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

pg_pick_free_port() {
  local port
  for ((port = PG_FIRST_PORT; port <= PG_LAST_PORT; port++)); do
    if ! port_in_use "$port"; then
      printf '%s' "$port"
      return 0
    fi
  done
  die "no free TCP port on 127.0.0.1 between $PG_FIRST_PORT and $PG_LAST_PORT"
}

# Decides PG_DATA (the real data directory) and PG_OS_USER, and creates the directory with the right owner.
# As root the server runs as `postgres`; if that user cannot reach .data/ (e.g. the clone lives under /root) the
# real directory is /var/lib/integracoes/<hash of the repo path>/pg and .data/pg is a symlink to it.
pg_data_dir_setup() {
  local link="$DATA_DIR/pg"

  if ! is_root; then
    PG_OS_USER="$(id -un)"
    if [[ -e "$link/PG_VERSION" ]]; then
      PG_DATA="$(cd "$link" 2>/dev/null && pwd -P)" ||
        die "cannot enter $link: it belongs to another user. Run ./run.sh as its owner or as root, or delete it."
      local owner
      owner="$(stat -c %U "$PG_DATA")"
      [[ "$owner" == "$PG_OS_USER" ]] ||
        die "$PG_DATA belongs to '$owner', not to you ('$PG_OS_USER'). Run ./run.sh as root or as '$owner', or delete it to start afresh."
    else
      if [[ -L "$link" ]]; then
        rm -f "$link"
      elif [[ -e "$link" && ! -O "$link" ]]; then
        die "$link belongs to '$(stat -c %U "$link")', not to you. Run ./run.sh as root, or delete it to start afresh."
      fi
      mkdir -p "$link"
      chmod 700 "$link"
      PG_DATA="$(cd "$link" && pwd -P)"
    fi
    return 0
  fi

  # root
  if [[ -e "$link/PG_VERSION" ]]; then
    PG_DATA="$(cd "$link" && pwd -P)"
    PG_OS_USER="$(stat -c %U "$PG_DATA")"
    if [[ "$PG_OS_USER" == "root" ]]; then
      # e.g. a repository copied with `cp -r` by root: PostgreSQL refuses to run as root, hand it to `postgres`.
      PG_OS_USER="postgres"
      ensure_os_user "$PG_OS_USER"
      log "$PG_DATA belongs to root; giving it to '$PG_OS_USER'"
      rm -f "$PG_DATA/postmaster.pid"
      chown -R "$PG_OS_USER:" "$PG_DATA"
      chmod 700 "$PG_DATA"
    fi
    if runuser -u "$PG_OS_USER" -- test -x "$PG_DATA"; then
      return 0
    fi
    # An existing cluster the server user cannot reach (e.g. the repo was moved under /root): move it out.
    if [[ ! -L "$link" ]]; then
      local target
      target="$(pg_external_data_dir)"
      log "moving the PostgreSQL data directory to $target (user '$PG_OS_USER' cannot reach $link)"
      pg_prepare_external_parent "$target"
      rm -rf "$target"
      mv "$link" "$target"
      ln -s "$target" "$link"
      PG_DATA="$target"
      runuser -u "$PG_OS_USER" -- test -x "$PG_DATA" || die "user '$PG_OS_USER' cannot reach $PG_DATA"
      return 0
    fi
    die "user '$PG_OS_USER' cannot reach $PG_DATA; delete $link to start afresh"
  fi

  PG_OS_USER="postgres"
  ensure_os_user "$PG_OS_USER"
  if [[ -L "$link" ]]; then
    rm -f "$link"
  elif [[ -d "$link" ]]; then
    rm -rf "$link" # no PG_VERSION: an aborted first init
  fi

  mkdir -p "$link"
  chown "$PG_OS_USER:" "$link"
  chmod 700 "$link"
  if runuser -u "$PG_OS_USER" -- test -w "$link"; then
    PG_DATA="$(cd "$link" && pwd -P)"
    return 0
  fi

  rmdir "$link"
  local target
  target="$(pg_external_data_dir)"
  log "user '$PG_OS_USER' cannot reach $DATA_DIR; the data directory is $target (linked from $link)"
  pg_prepare_external_parent "$target"
  rm -rf "$target"
  mkdir -p "$target"
  chown "$PG_OS_USER:" "$target"
  chmod 700 "$target"
  ln -s "$target" "$link"
  PG_DATA="$target"
  runuser -u "$PG_OS_USER" -- test -w "$PG_DATA" || die "user '$PG_OS_USER' cannot write to $PG_DATA"
}

# pg_prepare_external_parent TARGET: /var/lib/integracoes (755, root) and its <hash> directory (700, server user).
pg_prepare_external_parent() {
  local hash_dir base
  hash_dir="$(dirname "$1")"
  base="$(dirname "$hash_dir")"
  mkdir -p "$hash_dir"
  chmod 755 "$base"
  chown "$PG_OS_USER:" "$hash_dir"
  chmod 700 "$hash_dir"
}

# /var/lib/integracoes/<first 16 hex chars of sha256(repo path)>/pg
pg_external_data_dir() {
  local hash
  hash="$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-16)"
  printf '/var/lib/integracoes/%s/pg' "$hash"
}

# Settings of the private server, rewritten on every start (port may change if another program took it).
pg_write_settings() {
  local conf="$PG_DATA/integracoes.conf"
  cat >"$conf" <<EOF
# Written by scripts/common.sh on every start; edit that script instead.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
password_encryption = 'scram-sha-256'
max_connections = 200
timezone = 'UTC'
log_timezone = 'UTC'
EOF
  if is_root; then chown "$PG_OS_USER:" "$conf"; fi
  chmod 600 "$conf"
}

pg_init_cluster() {
  log "initialising PostgreSQL 15 in $PG_DATA (first run)"
  local password
  password="$(random_string 32)"

  as_pg_owner "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=peer --auth-host=reject \
    -E UTF8 --locale=C.UTF-8 --no-instructions >"$DATA_DIR/initdb.log" 2>&1 || {
    cat "$DATA_DIR/initdb.log" >&2
    die "initdb failed (log above, also in $DATA_DIR/initdb.log)"
  }

  printf "\ninclude 'integracoes.conf'\n" >>"$PG_DATA/postgresql.conf"
  cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# Written by scripts/common.sh. TCP on 127.0.0.1 only, passwords only. No unix sockets are opened.
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  scram-sha-256
EOF
  if is_root; then chown "$PG_OS_USER:" "$PG_DATA/pg_hba.conf"; fi
  chmod 600 "$PG_DATA/pg_hba.conf"

  PG_PORT="$(pg_pick_free_port)"
  printf '%s\n' "$PG_PORT" >"$DATA_DIR/pg.port"
  pg_write_settings

  # Role and database through single-user mode: no network, no superuser password needed.
  local sql
  sql="CREATE ROLE $PG_DB_USER LOGIN PASSWORD '$password';
CREATE DATABASE $PG_DB_NAME OWNER $PG_DB_USER ENCODING 'UTF8' TEMPLATE template0;
"
  local out
  if ! out="$(printf '%s' "$sql" | as_pg_owner "$PG_BIN/postgres" --single -D "$PG_DATA" postgres 2>&1)" ||
    grep -q 'ERROR' <<<"$out"; then
    printf '%s\n' "$out" | sed "s/$password/***/g" >&2
    die "could not create role/database $PG_DB_USER in $PG_DATA"
  fi
  write_secret "$DATA_DIR/pg.password" "$password"
}

pg_status() {
  # 0 = running, 3 = not running, 4 = no valid data directory
  local rc=0
  pg_ctl_owner status >/dev/null 2>&1 || rc=$?
  return "$rc"
}

# pg_start_private: initialises (first run) and starts the private server, or reuses one that is already running.
# Exports INTEGRACOES_CONNECTION_STRING. Sets PG_STARTED_BY_US=1 when this call started the server.
pg_start_private() {
  ensure_postgres_binaries
  ensure_data_dir
  pg_data_dir_setup

  if [[ ! -s "$PG_DATA/PG_VERSION" ]]; then
    pg_init_cluster
  fi
  [[ -s "$DATA_DIR/pg.password" ]] ||
    die "$DATA_DIR/pg.password is missing; delete $DATA_DIR/pg to initialise a new database"
  [[ -s "$DATA_DIR/pg.port" ]] || pg_pick_free_port >"$DATA_DIR/pg.port"
  PG_PORT="$(tr -dc '0-9' <"$DATA_DIR/pg.port")"

  if pg_status; then
    log "PostgreSQL already running ($PG_DATA, port $PG_PORT); reusing it and leaving it running"
  else
    if port_in_use "$PG_PORT"; then
      local old="$PG_PORT"
      PG_PORT="$(pg_pick_free_port)"
      warn "port $old is taken by another program; the private PostgreSQL moves to port $PG_PORT"
      printf '%s\n' "$PG_PORT" >"$DATA_DIR/pg.port"
    fi
    pg_write_settings
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT ($PG_DATA)"
    PG_STARTED_BY_US=1
    if ! pg_ctl_start >/dev/null; then
      PG_STARTED_BY_US=0
      tail -n 30 "$PG_DATA/server.log" >&2 || true
      die "PostgreSQL did not start (log above, full log in $PG_DATA/server.log)"
    fi
  fi

  local password
  password="$(head -n 1 "$DATA_DIR/pg.password")"
  export INTEGRACOES_CONNECTION_STRING="Host=127.0.0.1;Port=$PG_PORT;Database=$PG_DB_NAME;Username=$PG_DB_USER;Password=$password;Maximum Pool Size=50"

  # Same credentials the application will use.
  if ! PGPASSWORD="$password" PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -w -h 127.0.0.1 -p "$PG_PORT" \
    -U "$PG_DB_USER" -d "$PG_DB_NAME" -c 'SELECT 1' >/dev/null; then
    die "cannot log in to PostgreSQL on 127.0.0.1:$PG_PORT as $PG_DB_USER (see $PG_DATA/server.log)"
  fi
}

# pg_stop_private: stops the server if (and only if) pg_start_private started it.
pg_stop_private() {
  ((PG_STARTED_BY_US == 1)) || return 0
  PG_STARTED_BY_US=0
  log "stopping PostgreSQL ($PG_DATA)"
  pg_ctl_owner -m fast -w -t 60 stop >/dev/null 2>&1 || pg_ctl_owner -m immediate -w stop >/dev/null 2>&1 ||
    warn "could not stop PostgreSQL in $PG_DATA"
}

# ---------------------------------------------------------------------------------------------------------------------
# The silo's database for libpq tools (pg_dump, pg_restore, psql): scripts/backup.sh and scripts/restore.sh

# pg_env_from_connection_string CS: exports PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (and PGSSLMODE,
# PGCONNECT_TIMEOUT) from an Npgsql connection string such as "Host=h;Port=5432;Username=u;Password=p;Database=d".
# Keys are case-insensitive, Npgsql's aliases are accepted, values may be quoted ("a;b" or 'a;b', a doubled quote
# inside stands for one) and keys libpq has no use for (pool sizes, ...) are ignored. PG* variables inherited from the
# environment are cleared first, so only the connection string decides where the tools connect.
pg_env_from_connection_string() {
  local cs="$1" n=${#1} i=0 key value quote c
  unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGSERVICE PGOPTIONS PGSSLMODE
  export PGCONNECT_TIMEOUT=10
  while ((i < n)); do
    key=""
    while ((i < n)) && [[ "${cs:i:1}" != "=" && "${cs:i:1}" != ";" ]]; do
      key+="${cs:i:1}"
      i=$((i + 1))
    done
    if [[ "${cs:i:1}" == ";" || i -ge n ]]; then
      i=$((i + 1))
      [[ -z "${key//[[:space:]]/}" ]] && continue
      die "INTEGRACOES_CONNECTION_STRING: '${key}' has no value (expected Key=Value pairs separated by ';')"
    fi
    i=$((i + 1)) # the '='
    while ((i < n)) && [[ "${cs:i:1}" == " " ]]; do i=$((i + 1)); done
    value=""
    c="${cs:i:1}"
    if [[ "$c" == '"' || "$c" == "'" ]]; then
      quote="$c"
      i=$((i + 1))
      while ((i < n)); do
        c="${cs:i:1}"
        if [[ "$c" == "$quote" ]]; then
          [[ "${cs:i+1:1}" == "$quote" ]] || break
          i=$((i + 1))
        fi
        value+="$c"
        i=$((i + 1))
      done
      while ((i < n)) && [[ "${cs:i:1}" != ";" ]]; do i=$((i + 1)); done
    else
      while ((i < n)) && [[ "${cs:i:1}" != ";" ]]; do
        value+="${cs:i:1}"
        i=$((i + 1))
      done
      value="${value%"${value##*[![:space:]]}"}"
    fi
    i=$((i + 1)) # the ';'
    key="${key//[[:space:]]/}"
    case "${key,,}" in
      host | server) export PGHOST="$value" ;;
      port) export PGPORT="$value" ;;
      database | db) export PGDATABASE="$value" ;;
      username | user | userid | uid) export PGUSER="$value" ;;
      password | pwd | psw) export PGPASSWORD="$value" ;;
      timeout) export PGCONNECT_TIMEOUT="$value" ;;
      sslmode)
        case "${value,,}" in
          verifyca) value="verify-ca" ;;
          verifyfull) value="verify-full" ;;
          *) value="${value,,}" ;;
        esac
        export PGSSLMODE="$value"
        ;;
    esac
  done
  [[ -n "${PGHOST:-}" ]] || die "INTEGRACOES_CONNECTION_STRING has no Host"
  [[ -n "${PGDATABASE:-}" ]] || die "INTEGRACOES_CONNECTION_STRING has no Database"
}

# pg_connect_silo_database MODE: points libpq at the database the silo uses: INTEGRACOES_CONNECTION_STRING when it is
# set, otherwise the private PostgreSQL of ./run.sh, started if it is not running (pg_stop_private stops it again).
# MODE "existing" refuses to create a private database that does not exist yet (a backup of nothing); MODE "any" lets
# pg_start_private initialise one (a restore onto a new machine).
pg_connect_silo_database() {
  local mode="$1"
  if [[ -z "${INTEGRACOES_CONNECTION_STRING:-}" ]]; then
    if [[ "$mode" == "existing" && ! -e "$DATA_DIR/pg.password" ]]; then
      die "no private database in $DATA_DIR (./run.sh creates it), and INTEGRACOES_CONNECTION_STRING is not set"
    fi
    pg_start_private
  fi
  pg_env_from_connection_string "$INTEGRACOES_CONNECTION_STRING"
  PGPORT="${PGPORT:-5432}"
  PGUSER="${PGUSER:-$(id -un)}"
  export PGPORT PGUSER
}

# pg_describe_target: "database D on HOST:PORT as USER", never the password.
pg_describe_target() {
  printf 'database %s on %s:%s as %s' "$PGDATABASE" "$PGHOST" "$PGPORT" "$PGUSER"
}

# file_size FILE: human-readable size (e.g. 1.2M).
file_size() {
  numfmt --to=iec --suffix=B "$(stat -c %s "$1")"
}

# ---------------------------------------------------------------------------------------------------------------------
# Secrets

# ensure_secrets: INTEGRACOES_ADMIN_KEY and INTEGRACOES_ENCRYPTION_KEY from the environment, or else from .data/.
ensure_secrets() {
  ensure_data_dir
  local admin_file="$DATA_DIR/admin.key" enc_file="$DATA_DIR/encryption.key"

  if [[ -z "${INTEGRACOES_ADMIN_KEY:-}" ]]; then
    if [[ -s "$admin_file" ]]; then
      INTEGRACOES_ADMIN_KEY="$(head -n 1 "$admin_file")"
      log "admin key: stored in $admin_file"
    else
      INTEGRACOES_ADMIN_KEY="adm_$(head -c 512 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -dc 'A-Za-z0-9_-' | cut -c1-40)"
      write_secret "$admin_file" "$INTEGRACOES_ADMIN_KEY"
      cat >&2 <<EOF

  ============================================================================
   New admin API key (stored in $admin_file):

     $INTEGRACOES_ADMIN_KEY

   Send it as the admin key header to manage tenants and credentials.
  ============================================================================

EOF
    fi
  fi
  export INTEGRACOES_ADMIN_KEY

  if [[ -z "${INTEGRACOES_ENCRYPTION_KEY:-}" ]]; then
    if [[ ! -s "$enc_file" ]]; then
      write_secret "$enc_file" "$(head -c 32 /dev/urandom | base64 -w0)"
    fi
    INTEGRACOES_ENCRYPTION_KEY="$(head -n 1 "$enc_file")"
  fi
  export INTEGRACOES_ENCRYPTION_KEY
}

# ---------------------------------------------------------------------------------------------------------------------
# Build

# build_solution: Release build of the whole solution; prints only warnings and errors, fails loudly.
build_solution() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is not on PATH; see global.json for the version"
  log "building Integracoes.sln (Release)"
  if ! (cd "$REPO_ROOT" && dotnet build Integracoes.sln -c Release -nologo -v quiet); then
    printf '\n*** BUILD FAILED (dotnet build Integracoes.sln -c Release) ***\n\n' >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------------------------------------
# npm packages for test servers and reference clients (from the npm registry only)

# ensure_npm_packages DIR: installs DIR's package.json dependencies exactly as its package-lock.json records them.
ensure_npm_packages() {
  local dir="$REPO_ROOT/$1"
  command -v npm >/dev/null 2>&1 || ensure_apt_packages nodejs npm
  if [[ -d "$dir/node_modules" && "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]]; then
    return 0
  fi
  log "installing npm packages in $1"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $1"
}

# ensure_broker_servers: the servers the broker tests start privately on 127.0.0.1: rabbitmq-server and nats-server
# from Debian (their packages start no service here), fauxqs (SQS) and @soketi/soketi (Pusher) from npm.
ensure_broker_servers() {
  ensure_apt_packages rabbitmq-server nats-server
  ensure_npm_packages tests/servers
}
