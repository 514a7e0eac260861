#!/usr/bin/env bash
# Builds the solution (Release) and runs every test project; the test suites start their own PostgreSQL servers and
# brokers (RabbitMQ, NATS, an SQS emulator, a Pusher server), installing what is missing first.
# The last line printed is "N passed, N failed". Exit code 0 only when nothing failed and at least one test passed.
#
#   ./test.sh                               all tests
#   ./test.sh "FullyQualifiedName~Webhook"  only tests matching a dotnet test --filter expression
#                                           (several arguments are joined with '|', i.e. OR)
# INTEGRACOES_TEST_HANG_TIMEOUT (default 15m): a single test running longer than this kills its test host.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/common.sh
source scripts/common.sh

TEST_PROJECTS=(
  tests/Integracoes.UnitTests
  tests/Integracoes.IntegrationTests
  tests/Integracoes.EndToEndTests
  tests/Integracoes.BrokerTests
)

RESULTS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/integracoes-tests.XXXXXX")"
cleanup() {
  rm -rf "$RESULTS_DIR"
  # CI machines: do not leave MSBuild nodes or the compiler server running after the job.
  if [[ -n "${CI:-}" ]]; then
    dotnet build-server shutdown >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# trx_counter FILE NAME: value of attribute NAME of the <Counters .../> element (0 when absent).
trx_counter() {
  local value
  value="$(grep -o '<Counters [^>]*>' "$1" | head -n 1 | grep -o " $2=\"[0-9]*\"" | tr -dc '0-9' || true)"
  printf '%s' "${value:-0}"
}

ensure_postgres_binaries
ensure_npm_packages tests/Integracoes.EndToEndTests/node
ensure_broker_servers
if ! (build_solution); then
  echo "0 passed, 1 failed" # the build failed: no test ran
  exit 1
fi

filter_args=()
if (($# > 0)); then
  filter="$(
    IFS='|'
    printf '%s' "$*"
  )"
  filter_args=(--filter "$filter")
  log "test filter: $filter"
fi

total_passed=0
total_failed=0
summary=()
for project in "${TEST_PROJECTS[@]}"; do
  name="$(basename "$project")"
  if [[ ! -d "$project" ]]; then
    log "skipping $project (no such directory yet)"
    continue
  fi

  log "running $name"
  trx="$RESULTS_DIR/$name.trx"
  rc=0
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS_DIR" \
    --blame-hang-timeout "${INTEGRACOES_TEST_HANG_TIMEOUT:-15m}" --blame-hang-dump-type none \
    "${filter_args[@]}" || rc=$?

  if [[ -f "$trx" ]]; then
    passed="$(trx_counter "$trx" passed)"
    failed=0
    for counter in failed error timeout aborted; do
      failed=$((failed + $(trx_counter "$trx" "$counter")))
    done
    if ((rc != 0 && failed == 0)); then
      failed=1 # the run failed (test host crash, hang, ...) without a failed test in the report
    fi
  else
    passed=0
    failed=1 # no report at all: the project did not run
  fi
  summary+=("$(printf '%-32s %5d passed, %d failed (dotnet test exit code %d)' "$name" "$passed" "$failed" "$rc")")
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
done

echo
echo "Test summary:"
if ((${#summary[@]} > 0)); then
  printf '  %s\n' "${summary[@]}"
fi
echo "$total_passed passed, $total_failed failed"
((total_failed == 0 && total_passed > 0))
