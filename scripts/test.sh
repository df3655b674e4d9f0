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

# The Rust workspace: unit tests, in-process server tests, real-binary tests, the storage suite
# (SQLite, and PostgreSQL when configured) and the media core's deterministic tests.
cargo nextest run --workspace --no-fail-fast --failure-output final
