#!/usr/bin/env bash
# Browser tests of the web app and SDK: type-check (tsc --checkJs) and end-to-end tests with headless Chromium
# (fake camera/microphone) against the real server, all inside a network namespace that has only loopback.
# Installs what it needs on a fresh machine (Debian's chromium, nftables and ffmpeg, npm packages from web/package-lock.json).
# Usage: scripts/test-web.sh [node --test arguments, e.g. a test file]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
# nft impairs one page's media (random loss) in connection-quality.test.js and net-quality.test.js.
if ! command -v nft >/dev/null; then
  echo "== installing nftables"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nftables >/dev/null
fi
# ffmpeg: the server composes recordings with it, and recording.test.js decodes the track files with it.
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  echo "== installing ffmpeg"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq ffmpeg >/dev/null
fi
# A font with Chinese and Korean glyphs, so that the screenshots of the app in those languages are readable.
if ! fc-list :lang=ko 2>/dev/null | grep -q . || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "== installing a CJK font"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq fonts-wqy-zenhei >/dev/null
fi
# A colour emoji font, so that the screenshots of reactions show the emoji, not empty boxes.
if ! fc-list 2>/dev/null | grep -qi emoji; then
  echo "== installing an emoji font"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq fonts-noto-color-emoji >/dev/null
fi
# span.test.js runs two nodes of a cluster on a PostgreSQL and a redis-server of its own, inside the namespace.
if ! command -v redis-server >/dev/null; then
  echo "== installing redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
command -v node >/dev/null || { echo "node is required (Node.js 20+)"; exit 1; }

echo "== npm ci (web/)"
(cd web && npm ci --no-audit --no-fund --loglevel=error)

echo "== tsc --checkJs (web/)"
(cd web && npx --no-install tsc -p .)

# The binary embeds web/ at build time, so it is rebuilt (incrementally) after every web change: cargo
# re-runs build.rs when anything under web/app, web/sdk or web/example changes in this checkout.
# TEST_CONVENE_BIN=/path/to/convene uses that binary instead (it must have been built with this web/).
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -z "${TEST_CONVENE_BIN:-}" ]; then
  echo "== cargo build -p convene-server"
  cargo build -p convene-server
fi
BIN=${TEST_CONVENE_BIN:-$TARGET_DIR/debug/convene}
[ -x "$BIN" ] || { echo "no server binary at $BIN"; exit 1; }

mkdir -p "$ROOT/artifacts"
echo "== end-to-end tests (artifacts in artifacts/)"
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(tests/)
# unshare -n: a fresh network namespace with only `lo`, so no packet leaves the machine and ICE
# finds loopback candidates only. Needs root (CI and the development machines have it).
cd web
exec unshare -n env TEST_CONVENE_BIN="$BIN" bash -c 'ip link set lo up && exec node --test --test-concurrency=1 "$@"' bash "${TESTS[@]}"
