#!/usr/bin/env bash
# Runs Convene's whole test suite on a fresh machine of this kind. It installs what it needs itself.
#   PostgreSQL tests run when CONVENE_TEST_POSTGRES_URL is set (CI sets it); without it they say they
#   were skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-nextest >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
  echo "cargo-nextest not found: installing it" >&2
  cargo install --locked cargo-nextest
fi

# ffmpeg and ffprobe: the server composes recordings with ffmpeg, and the composition tests check the
# result with ffprobe (they fail, not skip, without them).
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  echo "== installing ffmpeg" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq ffmpeg >/dev/null
fi

# The Rust workspace: unit tests, in-process server tests, real-binary tests, the storage suite
# (SQLite, and PostgreSQL when configured) and the media core's deterministic tests.
rust_status=0
cargo nextest run --workspace --no-fail-fast --failure-output final || rust_status=$?

# Several nodes: three real servers behind HAProxy, on PostgreSQL and Redis (installs haproxy and
# redis-server when missing). PostgreSQL is required: skipped without the URL, failed in CI.
cluster_status=0
if [ -n "${CONVENE_TEST_POSTGRES_URL:-}" ]; then
  bash scripts/test-cluster.sh || cluster_status=$?
elif [ -n "${CI:-}" ]; then
  echo "CONVENE_TEST_POSTGRES_URL is not set in CI: the cluster tests cannot run" >&2
  cluster_status=1
else
  echo "SKIPPED: CONVENE_TEST_POSTGRES_URL not set, the cluster tests (scripts/test-cluster.sh) did not run" >&2
fi

# The browser app: tsc --checkJs and end-to-end tests in real (headless) Chromium, loopback only.
web_status=0
bash scripts/test-web.sh || web_status=$?

# The REST API against its OpenAPI document (schemathesis, installed from PyPI into a venv).
api_status=0
cargo build -p convene-server && bash scripts/test-api-fuzz.sh || api_status=$?

# Every parser that network input reaches, under a coverage-guided fuzzer (cargo-fuzz on nightly,
# installed when missing): each target about a minute, two at a time (FUZZ_SECS to change).
fuzz_status=0
bash scripts/test-fuzz.sh || fuzz_status=$?

if [ "$rust_status" -ne 0 ] || [ "$cluster_status" -ne 0 ] || [ "$web_status" -ne 0 ] || [ "$api_status" -ne 0 ] || [ "$fuzz_status" -ne 0 ]; then
  echo "FAILED: rust tests exit $rust_status, cluster tests exit $cluster_status, web tests exit $web_status, API fuzz exit $api_status, fuzz targets exit $fuzz_status" >&2
  exit 1
fi
