#!/usr/bin/env bash
# Join-time benchmark (issue 19, docs/benchmarks.md "Join time"): a publisher's page sits in a room, then
# BENCH_RUNS (20) fresh pages open the autojoin link one after another; prints p50/p90 of each phase from
# navigation start to the first remote video frame shown, and writes the runs to artifacts/bench-join.json.
# Everything runs in a network namespace with only loopback (root needed, as for scripts/test-web.sh).
# BENCH_PROFILE=release benchmarks an optimised server (default: the debug build the browser tests use).
# BENCH_BASELINE_BIN=<path>: also measures that binary (e.g. one built from main), alternating joins with
# this build's, so that both see the same load; the table then has both.
# Usage: scripts/bench-join.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
command -v node >/dev/null || { echo "node is required (Node.js 20+)"; exit 1; }

echo "== npm ci (web/)"
(cd web && npm ci --no-audit --no-fund --loglevel=error)

PROFILE=${BENCH_PROFILE:-debug}
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -z "${TEST_CONVENE_BIN:-}" ]; then
  FLAG=(); [ "$PROFILE" = release ] && FLAG=(--release)
  echo "== cargo build -p convene-server ${FLAG[*]}"
  cargo build -p convene-server "${FLAG[@]}"
  # The binary embeds web/ (see scripts/test-web.sh): make sure it is this checkout's.
  if ! grep -qsF "\"$ROOT/web/app/main.js\"" "$TARGET_DIR/$PROFILE"/build/convene-server-*/out/web_files.rs; then
    echo "== web files embedded from another checkout; re-running build.rs"
    touch crates/server/build.rs
    cargo build -p convene-server "${FLAG[@]}"
  fi
fi
BIN=${TEST_CONVENE_BIN:-$TARGET_DIR/$PROFILE/convene}
[ -x "$BIN" ] || { echo "no server binary at $BIN"; exit 1; }

echo "== join-time benchmark ($BIN)"
cd web
exec unshare -n env TEST_CONVENE_BIN="$BIN" bash -c 'ip link set lo up && exec node bench/join-fast.js'
