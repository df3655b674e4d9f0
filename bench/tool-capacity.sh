#!/usr/bin/env bash
# How many video subscribers one core of the load tool carries (docs/benchmarks.md, "What one
# tool core carries"). Each round starts one Convene server and two tool processes at once,
# against it: one with SMALL subscribers, one with LARGE (one publisher each, 500 kbit/s top
# layer, 3 layers). Both see the same machine at the same moment, so the difference of their CPU
# is the cost of LARGE - SMALL subscribers, and what is left at SMALL is the fixed part (frame
# clocks, read timers, signaling). Capacity = (one core - fixed) / cost per subscriber, with a
# subscriber's packets at PER_SUB per second (sent and received: 500 kbit/s of video, audio and
# the feedback; the script prints the measured rates too).
#
#   bench/tool-capacity.sh                        # 3 rounds, 100 and 300 subscribers (as root)
#   ROUNDS=6 LT=/tmp/other-convene-loadtest bench/tool-capacity.sh
#
# Results: bench/results/capacity-<round>-{small,large}.json (the tool's --json reports).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BENCH_IN_NETNS:-}" ]; then
  [ -n "${LT:-}" ] || cargo build --release -p convene-server -p convene-loadtest
  # Every packet stays on the loopback device of a network namespace made here.
  exec unshare -n env BENCH_IN_NETNS=1 bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi

ROUNDS="${ROUNDS:-3}"
SMALL="${SMALL:-100}"
LARGE="${LARGE:-300}"
DURATION="${DURATION:-20}"
PER_SUB="${PER_SUB:-132}"
LT="${LT:-target/release/convene-loadtest}"
SERVER="${SERVER:-target/release/convene}"
out="${OUT:-bench/results}"
mkdir -p "$out"
ulimit -n 65536 2>/dev/null || true

http=18480
udp=18481
for r in $(seq 1 "$ROUNDS"); do
  dir=$(mktemp -d)
  "$SERVER" serve --listen="127.0.0.1:$http" --database-url="sqlite://$dir/convene.db" \
    --set=media.udp_port=$udp --max-participants=100000 --set=log.level=warn 2>/dev/null &
  server=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$http/readyz" >/dev/null && break
    sleep 0.1
  done
  common=(--url "ws://127.0.0.1:$http/ws" --server-pid "$server" --rooms 1 --publishers 1
          --duration "$DURATION" --settle 3 --drain 1 --video-bitrate 500000 --layers 3
          --json --nice -10)
  # Ramps of the same length, so that both measure over the same seconds.
  "$LT" "${common[@]}" --room-prefix small --subscribers "$SMALL" --ramp $(( (SMALL + 2) / 3 )) \
    >"$out/capacity-$r-small.json" 2>"$out/capacity-$r-small.txt" &
  small=$!
  "$LT" "${common[@]}" --room-prefix large --subscribers "$LARGE" --ramp $(( (LARGE + 2) / 3 )) \
    >"$out/capacity-$r-large.json" 2>"$out/capacity-$r-large.txt" &
  large=$!
  wait "$small" "$large"
  kill "$server"
  wait "$server" 2>/dev/null || true
  rm -rf "$dir"
  python3 - "$out/capacity-$r" "$SMALL" "$LARGE" "$PER_SUB" "$r" <<'PY'
import json, sys
base, small, large, per_sub, r = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
def load(which):
    d = json.load(open(f"{base}-{which}.json"))
    t = d["tool"]
    rate = t["cpu_secs"] * 1e6 / t["cpu_us_per_packet"] / d["window_secs"]
    return t["cpu_percent"], rate, d["loss"]["frames_lost"]
(ca, ra, la), (cb, rb, lb) = load("small"), load("large")
marginal = (cb - ca) / 100 * 1e6 / (rb - ra)  # µs of tool CPU per packet, at the margin
fixed = ca - ra * marginal / 1e4  # % of a core at no packets
subs = (100 - fixed) / (marginal * per_sub / 1e4)
print(f"round {r}: {small} subscribers {ca:.2f} % of a core ({ra / small:.0f} pkt/s each), "
      f"{large}: {cb:.2f} % ({rb / large:.0f} pkt/s each); marginal {marginal:.2f} µs/packet, "
      f"fixed {fixed:.1f} % -> {subs:,.0f} subscribers per core at {per_sub:.0f} pkt/s; "
      f"frames lost {la + lb}")
PY
done
