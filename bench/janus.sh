#!/usr/bin/env bash
# Starts Janus Gateway (Debian package `janus`) with the benchmark config in bench/janus/,
# on loopback only; prints its pid. Stop it with: kill "$(cat /tmp/convene-bench-janus.pid)".
#   apt-get update && apt-get install -y janus
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log="${JANUS_LOG:-/tmp/convene-bench-janus.log}"
pidfile=/tmp/convene-bench-janus.pid
command -v janus >/dev/null || { echo "janus is not installed (apt-get install -y janus)" >&2; exit 1; }
janus -C "$here/janus/janus.jcfg" -F "$here/janus" -o -N -L "$log" </dev/null >/dev/null 2>&1 &
echo $! > "$pidfile"
# Wait for the WebSocket port.
for _ in $(seq 1 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/8188) 2>/dev/null; then
    cat "$pidfile"
    exit 0
  fi
  sleep 0.1
done
echo "janus did not open 127.0.0.1:8188; see $log" >&2
exit 1
