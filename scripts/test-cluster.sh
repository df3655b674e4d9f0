#!/usr/bin/env bash
# Three real `convene` nodes on one PostgreSQL schema and one Redis key prefix of this run's own,
# behind Debian's haproxy (round-robin, deploy/haproxy/cluster.cfg), and the Rust cluster tests
# (crates/server/tests/cluster/) against them. Installs haproxy and redis-server when missing.
# Starts a redis-server of its own (a free port, no persistence, a temp dir): one case stops it for
# a while, which must not disturb other tests' Redis. Needs CONVENE_TEST_POSTGRES_URL.
# Usage: scripts/test-cluster.sh (from scripts/test.sh, or alone).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PG=${CONVENE_TEST_POSTGRES_URL:?set CONVENE_TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test)}

need() {
  if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$1" ]; then
    echo "== installing $2" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$2" >/dev/null
  fi
}
need haproxy haproxy
need redis-server redis-server
need psql postgresql-client
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

echo "== building the server" >&2
cargo build -q -p convene-server
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/convene

WORK=$(mktemp -d)
RUN=c$(date +%s)$$
SCHEMA=cluster_$RUN
PREFIX="convene-test-$RUN:"
SPAN_SCHEMA=span_$RUN
PIDS=()
REDIS_PID=
SPAN_REDIS_PID=
cleanup() {
  # Only a process that is still ours: the tests end two nodes themselves, and on a machine with a small
  # pid_max (32768 here) a dead node's PID can be another process by now.
  { for p in "${PIDS[@]}"; do
      grep -qaE 'convene|haproxy' "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p"
    done; } 2>/dev/null
  # Stopped (SIGSTOP) by a test that failed half-way: continue it so that it can end. Before the
  # `wait`, which would otherwise wait for this child for ever.
  [ -n "$REDIS_PID" ] && { kill -CONT "$REDIS_PID" || true; kill "$REDIS_PID" || true; } 2>/dev/null
  [ -n "$SPAN_REDIS_PID" ] && kill "$SPAN_REDIS_PID" 2>/dev/null
  wait 2>/dev/null || true
  psql "$PG" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  psql "$PG" -qc "DROP SCHEMA IF EXISTS $SPAN_SCHEMA CASCADE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK/redis" \
  >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break; sleep 0.1; done

psql "$PG" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
DB="$PG?options=-c%20search_path%3D$SCHEMA"

COMMON=(--database-url "$DB" --redis-url "redis://127.0.0.1:$REDIS_PORT"
  --set "cluster.key_prefix=$PREFIX" --set cluster.lease_secs=3 --set database.heartbeat_secs=1
  --set media.udp_port=0 --drain-deadline-secs 5)
# An API key for the REST cases (the CLI writes the shared database before the nodes start).
KEY=$("$BIN" apikey create --name cluster-test "${COMMON[@]}")
KEY_ID=$(sed -n 's/^id: *//p' <<<"$KEY"); KEY_SECRET=$(sed -n 's/^secret: *//p' <<<"$KEY")
[ -n "$KEY_ID" ] && [ -n "$KEY_SECRET" ] || { echo "could not read the API key from: $KEY"; exit 1; }

NODES=()
for i in 1 2 3; do
  port=$(free_port)
  dir="$WORK/node$i"
  mkdir -p "$dir"
  # Each node makes up its own id (server.node_id left at the default) and keeps it in its dir.
  "$BIN" serve "${COMMON[@]}" --listen "127.0.0.1:$port" --set "cluster.node_id_file=$dir/node_id" \
    --set "files.dir=$dir/files" --set "recording.dir=$dir/recordings" >"$dir/log" 2>&1 &
  PIDS+=($!)
  # The tests kill one with -9; the shell need not report it.
  disown
  NODES+=("127.0.0.1:$port")
done
for n in "${NODES[@]}"; do
  for _ in $(seq 300); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://$n/readyz', timeout=1)" 2>/dev/null && break
    sleep 0.1
  done
done

# Two more nodes, a cluster of their own (schema, Redis), each taking at most two media sessions:
# a room of four spans both (crates/server/tests/cluster/span.rs), and on each node spreads over
# its two workers (so a packet both of a node's workers want crosses once for the two). Their own Redis keeps their
# heartbeats out of the Redis costs the other cases measure.
SPAN_REDIS_PORT=$(free_port)
mkdir -p "$WORK/span-redis"
redis-server --port "$SPAN_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK/span-redis" >"$WORK/span-redis.log" 2>&1 &
SPAN_REDIS_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SPAN_REDIS_PORT") 2>/dev/null && break; sleep 0.1; done
psql "$PG" -qc "CREATE SCHEMA $SPAN_SCHEMA" >/dev/null
SPAN_NODES=()
for i in 1 2; do
  port=$(free_port)
  dir="$WORK/span$i"
  mkdir -p "$dir"
  "$BIN" serve --database-url "$PG?options=-c%20search_path%3D$SPAN_SCHEMA" \
    --redis-url "redis://127.0.0.1:$SPAN_REDIS_PORT" --set "cluster.key_prefix=span-$RUN:" \
    --set cluster.lease_secs=3 --set database.heartbeat_secs=1 --set media.udp_port=0 \
    --set media.max_sessions=2 --set media.workers=2 --set media.room_spread_threshold=1 --listen "127.0.0.1:$port" --set "cluster.node_id_file=$dir/node_id" \
    --set "files.dir=$dir/files" --set "recording.dir=$dir/recordings" >"$dir/log" 2>&1 &
  PIDS+=($!)
  disown
  SPAN_NODES+=("127.0.0.1:$port")
done
for n in "${SPAN_NODES[@]}"; do
  for _ in $(seq 300); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://$n/readyz', timeout=1)" 2>/dev/null && break
    sleep 0.1
  done
done

LB="127.0.0.1:$(free_port)"
# Not CONVENE_*: a server takes every CONVENE_* variable for a setting.
LB_ENV=(LB_ADDR="$LB" LB_NODE1="${NODES[0]}" LB_NODE2="${NODES[1]}" LB_NODE3="${NODES[2]}")
env "${LB_ENV[@]}" "$HAPROXY" -c -q -f deploy/haproxy/cluster.cfg
env "${LB_ENV[@]}" "$HAPROXY" -db -f deploy/haproxy/cluster.cfg >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/${LB%:*}/${LB#*:}") 2>/dev/null && break; sleep 0.1; done

status=0
# --workspace: the same build as scripts/test.sh's workspace run, so nothing is compiled again.
CONVENE_TEST_CLUSTER_LB=$LB \
CONVENE_TEST_CLUSTER_NODES=$(IFS=,; echo "${NODES[*]}") \
CONVENE_TEST_CLUSTER_PIDS=$(IFS=,; echo "${PIDS[*]:0:3}") \
CONVENE_TEST_CLUSTER_DB=$DB \
CONVENE_TEST_CLUSTER_API_KEY="$KEY_ID:$KEY_SECRET" \
CONVENE_TEST_CLUSTER_REDIS_PID=$REDIS_PID \
CONVENE_TEST_CLUSTER_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
CONVENE_TEST_CLUSTER_SPAN_NODES=$(IFS=,; echo "${SPAN_NODES[*]}") \
CONVENE_TEST_CLUSTER_SPAN_PIDS=$(IFS=,; echo "${PIDS[*]:3:2}") \
  cargo nextest run --workspace -E 'binary_id(convene-server::cluster)' --run-ignored only --no-fail-fast --success-output final || status=$?
if [ "$status" -ne 0 ]; then
  for i in 1 2 3; do echo "== node$i log (tail)"; tail -n 60 "$WORK/node$i/log"; done
  for i in 1 2; do echo "== span node$i log (tail)"; tail -n 60 "$WORK/span$i/log"; done
  echo "== haproxy log"; tail -n 20 "$WORK/haproxy.log"
fi
exit "$status"
