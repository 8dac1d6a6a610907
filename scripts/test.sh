#!/usr/bin/env bash
# The whole test suite: unit + integration tests against real components
# (PostgreSQL, Redis, Xvfb, Chromium started by the tests), the dependency
# rules, and every fuzz target for a short time.
set -euo pipefail
cd "$(dirname "$0")/.."
export DIDACTO_TEST_REQUIRE=1 LANG=C.UTF-8
fuzztime=${FUZZTIME:-10s}

echo "== go vet"
go vet ./...

echo "== go test"
# dbus-run-session gives the keyring tests a private session bus.
runner=()
command -v dbus-run-session >/dev/null && runner=(dbus-run-session --)
"${runner[@]}" go test -count=1 -timeout 15m ./... 2>&1 | tee /tmp/didacto-test.$$.log

echo "== fuzz (${fuzztime} each)"
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  dir=$(dirname "$f")
  for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$f" | cut -d' ' -f2); do
    echo "-- $dir $fn"
    go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzztime" "$dir" >/tmp/didacto-fuzz.$$.log 2>&1 || { cat /tmp/didacto-fuzz.$$.log; exit 1; }
  done
done
rm -f /tmp/didacto-fuzz.$$.log /tmp/didacto-test.$$.log
