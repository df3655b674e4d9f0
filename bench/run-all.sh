#!/usr/bin/env bash
# Runs every benchmark scenario of docs/benchmarks.md, against Convene and then Janus VideoRoom,
# one after the other on this machine, and prints the tables.
#
#   bench/run-all.sh                 # all scenarios, Convene then Janus
#   TARGETS=convene bench/run-all.sh # Convene only
#   SCENARIOS="meeting10 fanout" DURATION=20 bench/run-all.sh
#   SERVER_ARGS="--set media.room_spread_threshold=0" OUT=/tmp/r bench/run-all.sh  # Convene's config
#   TOOL_NICE=0 bench/run-all.sh     # the tool at the servers' priority (default: -10, ahead)
#   CONVENE_BIN=/elsewhere/convene TARGETS=convene bench/run-all.sh  # another build of the server
#   RECORD=1 TARGETS=convene bench/run-all.sh  # each room recorded from its start (every track to a file)
#
# Needs: cargo; for Janus, the Debian package `janus` (apt-get install -y janus).
# Results: bench/results/<scenario>-<target>.json (the tool's --json report) and .txt (its table).
set -euo pipefail
cd "$(dirname "$0")/.."

# Every packet stays inside a network namespace made here: loopback plus a veth pair (both ends in
# the namespace) holding a test address of our own (Janus's ICE library never offers loopback
# addresses, so it needs one).
# Nothing is sent to the machine's real interfaces.
TEST_IP=10.77.0.1
if [ -z "${BENCH_IN_NETNS:-}" ]; then
  cargo build --release -p convene-server -p convene-loadtest
  exec unshare -n env BENCH_IN_NETNS=1 bash -c "
    ip link set lo up &&
    ip link add bench0 type veth peer name bench1 &&
    ip addr add $TEST_IP/24 dev bench0 &&
    ip link set bench1 up &&
    ip link set bench0 up &&
    exec bash \"\$0\" \"\$@\"" "$0" "$@"
fi
out="${OUT:-bench/results}"
mkdir -p "$out"

DURATION="${DURATION:-10}"
RAMP="${RAMP:-100}"
FANOUT_SUBS="${FANOUT_SUBS:-500}"
AUDIO_LISTENERS="${AUDIO_LISTENERS:-1000}"
TARGETS="${TARGETS:-convene janus}"
SCENARIOS="${SCENARIOS:-meeting10 rooms4x25 fanout audio}"
# Janus's media sockets bind the namespace's test address (libnice skips loopback).
HOST_IP="$TEST_IP"
release="${CARGO_TARGET_DIR:-target}/release"
lt="$release/convene-loadtest"
# The server measured: this checkout's by default; another build's for a side-by-side comparison.
server_bin="${CONVENE_BIN:-$release/convene}"
# The server refuses CONVENE_* variables it does not know, and the tool passes its environment on.
unset CONVENE_BIN
# A tool run needs about 3 descriptors per participant (WebSocket, UDP, plus the server's side).
ulimit -n 65536 2>/dev/null || true

scenario_args() {
  case "$1" in
    meeting10) echo "--rooms 1 --publishers 10 --subscribers 0" ;;
    rooms4x25) echo "--rooms 4 --publishers 3 --subscribers 22" ;;
    fanout)    echo "--rooms 1 --publishers 1 --subscribers $FANOUT_SUBS" ;;
    audio)     echo "--rooms 1 --publishers 10 --subscribers $AUDIO_LISTENERS --no-video" ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
  esac
}

# The tool stands for clients on other machines: it runs ahead of the server it measures, so
# that a saturated server cannot starve its frame clocks (TOOL_NICE=0 turns that off).
TOOL_NICE="${TOOL_NICE:--10}"
common=(--duration "$DURATION" --ramp "$RAMP" --settle 3 --drain 1 --video-bitrate 500000 --layers 3 --json
        --nice "$TOOL_NICE")
server_args=()
if [ -n "${RECORD:-}" ]; then common+=(--record); fi
for a in ${SERVER_ARGS:-}; do server_args+=(--server-arg "$a"); done

for s in $SCENARIOS; do
  for t in $TARGETS; do
    echo "### $s on $t" >&2
    # shellcheck disable=SC2046
    if [ "$t" = convene ]; then
      $lt $(scenario_args "$s") "${common[@]}" --label "$s" --room-prefix "$s" \
        --spawn-server "$server_bin" "${server_args[@]}" >"$out/$s-$t.json" 2> >(tee "$out/$s-$t.txt" >&2)
    else
      pid="$(bench/janus.sh)"
      trap 'kill "$pid" 2>/dev/null || true' EXIT
      $lt $(scenario_args "$s") "${common[@]}" --label "$s" --target janus \
        --url ws://127.0.0.1:8188/ --server-pid "$pid" --local-ip "$HOST_IP" \
        >"$out/$s-$t.json" 2> >(tee "$out/$s-$t.txt" >&2) || true
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      trap - EXIT
    fi
    sleep 2
  done
done
python3 bench/table.py "$out"/*.json
