#!/usr/bin/env bash
# Churn soak (issue 26 §4; not part of CI's test command): the release binary under a steady churn
# of participants who join, publish audio and video, chat and leave, for SOAK_MINUTES. Every minute
# it records the server's live tokio tasks and database connections (from /metrics), threads,
# open descriptors and resident memory (from /proc/PID). After the churn and a quiet period it
# compares each with its baseline (taken after a warm-up of the same churn and the same quiet
# period, so that what grows once to a peak and is reused is not counted as growth) and exits 1 when one is more than
# SOAK_TOLERANCE_PCT above it. Below the baseline passes (a leak only grows); the report shows it.
#
#   scripts/soak.sh                                   # an hour on SQLite
#   SOAK_MINUTES=10 nice -n 19 scripts/soak.sh        # ten minutes, behind everything else
#   SOAK_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dsoak' \
#     scripts/soak.sh                                 # PostgreSQL (a schema of its own: create it first)
#
# Settings (environment): SOAK_MINUTES (60), SOAK_QUIET_SECS (60), SOAK_WAVE_SECS (30: how long a
# wave of participants stays; a new wave starts every half of it, so two overlap and someone is
# always joining or leaving), SOAK_ROOMS (2 rooms a wave), SOAK_PUBLISHERS (3 a room),
# SOAK_SUBSCRIBERS (2 a room), SOAK_CHAT_SECS (5: each participant chats this often),
# SOAK_TOLERANCE_PCT (5), SOAK_SERVER_BIN and SOAK_LOADTEST_BIN (default: this checkout's release build,
# not CONVENE_*: the server refuses environment variables that are not its keys),
# built first), OUT (a folder for the samples and the waves' reports; default a temporary one).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${SOAK_MINUTES:-60}"
quiet="${SOAK_QUIET_SECS:-60}"
wave="${SOAK_WAVE_SECS:-30}"
rooms="${SOAK_ROOMS:-2}"
pubs="${SOAK_PUBLISHERS:-3}"
subs="${SOAK_SUBSCRIBERS:-2}"
chat="${SOAK_CHAT_SECS:-5}"
tolerance="${SOAK_TOLERANCE_PCT:-5}"
release="${CARGO_TARGET_DIR:-target}/release"
if [ -z "${SOAK_SERVER_BIN:-}" ] || [ -z "${SOAK_LOADTEST_BIN:-}" ]; then
  cargo build --release -p convene-server -p convene-loadtest
fi
server_bin="${SOAK_SERVER_BIN:-$release/convene}"
lt="${SOAK_LOADTEST_BIN:-$release/convene-loadtest}"
out="${OUT:-$(mktemp -d /tmp/convene-soak.XXXXXX)}"
mkdir -p "$out/data" "$out/waves"
ulimit -n 65536 2>/dev/null || true

free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, getattr(socket, sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }
http_port="$(free_port SOCK_STREAM)"
udp_port="$(free_port SOCK_DGRAM)"
db_url="${SOAK_DATABASE_URL:-sqlite://$out/data/convene.db}"
"$server_bin" serve --listen "127.0.0.1:$http_port" --database-url "$db_url" \
  --set "media.udp_port=$udp_port" --set "files.dir=$out/data/files" \
  --set "recording.dir=$out/data/recordings" --set log.level=warn \
  --max-participants 100000 2>"$out/server.log" &
pid=$!
churn_pid=""
cleanup() {
  [ -n "$churn_pid" ] && kill "$churn_pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
base="http://127.0.0.1:$http_port"
for _ in $(seq 100); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -fs "$base/readyz" >/dev/null || { echo "the server did not become ready (see $out/server.log)" >&2; exit 2; }
echo "server pid $pid on $base, database $db_url; samples in $out" >&2

# One sample: tasks threads fds db_connections rss_kib db_heap_kib anon_kib file_kib in_use_kib
# free_kib, one line.
# db_heap_kib is the part of the resident memory SQLite's caches hold ("-" on PostgreSQL);
# anon_kib and file_kib split the resident memory into the process's own (heap, stacks) and the
# pages of files it maps (the binary's code, read in as paths run for the first time). They are
# shown to explain RSS; the check is on RSS. in_use_kib and free_kib are glibc's own count of its
# heap (convene_heap_bytes): memory that stays after the churn and is in use is a leak; free but
# kept is the allocator's fragmentation.
sample() {
  local m tasks db threads fds rss heap anon file in_use free
  m="$(curl -fs "$base/metrics")" || { echo "the server stopped answering /metrics" >&2; exit 2; }
  tasks="$(awk '$1=="convene_runtime_alive_tasks"{print $2}' <<<"$m")"
  db="$(awk '$1 ~ /^convene_database_connections\{/ {n+=$2} END{print n+0}' <<<"$m")"
  threads="$(awk '/^Threads:/{print $2}' "/proc/$pid/status")"
  rss="$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status")"
  anon="$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status")"
  file="$(awk '/^RssFile:/{print $2}' "/proc/$pid/status")"
  fds="$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)"
  heap="$(awk '$1=="convene_database_memory_bytes"{printf "%d", $2 / 1024; f=1} END{if (!f) print "-"}' <<<"$m")"
  in_use="$(awk '$1=="convene_heap_bytes{state=\"in_use\"}"{printf "%d", $2 / 1024; f=1} END{if (!f) print "-"}' <<<"$m")"
  free="$(awk '$1=="convene_heap_bytes{state=\"free\"}"{printf "%d", $2 / 1024; f=1} END{if (!f) print "-"}' <<<"$m")"
  echo "$tasks $threads $fds $db $rss $heap $anon $file $in_use $free"
}

# A wave: rooms of publishers and subscribers who join, publish, chat and leave after $wave s.
run_wave() {
  local n="$1"
  "$lt" --url "ws://127.0.0.1:$http_port/ws" --rooms "$rooms" --publishers "$pubs" \
    --subscribers "$subs" --sockets own --duration "$wave" --ramp 5 --settle 1 --drain 1 \
    --video-bitrate 300000 --chat-every "$chat" --room-prefix "soak-$((n % 4))" --quiet --json \
    >"$out/waves/$n.json" 2>"$out/waves/$n.log" || echo "wave $n: the load tool failed" >&2
}

# The churn: a new wave every half wave, so two overlap. Waves are numbered from $1.
churn() {
  local n="$1"
  while true; do
    run_wave "$n" &
    n=$((n + 1))
    sleep "$((wave / 2))"
  done
}

# The warm-up is the churn at its full height (three waves, two at a time) so that what grows
# once to a peak and is then reused (the database pool up to its size, the allocator's arenas,
# the blocking threads) is in the baseline; what then grows with time is what a leak looks like.
echo "warm-up: three waves, then ${quiet}s quiet for the baseline" >&2
churn 1000 &
churn_pid=$!
sleep "$((wave + wave / 2))"
kill "$churn_pid" 2>/dev/null || true
wait "$churn_pid" 2>/dev/null || true
sleep "$((wave + 10))"
sleep "$quiet"
read -r b_tasks b_threads b_fds b_db b_rss b_heap b_anon b_file b_in_use b_free <<<"$(sample)"
echo "minute tasks threads fds db_connections rss_kib db_heap_kib anon_kib file_kib in_use_kib free_kib" >"$out/samples.txt"
echo "baseline $b_tasks $b_threads $b_fds $b_db $b_rss $b_heap $b_anon $b_file $b_in_use $b_free" | tee -a "$out/samples.txt" >&2
# The memory map with each mapping's resident size, at the baseline and at the end: which one grew
# (a heap arena, a thread's stack, the binary) is what tells a leak from memory kept once.
cp "/proc/$pid/smaps" "$out/smaps.baseline" 2>/dev/null || true

churn 1 &
churn_pid=$!
for m in $(seq "$minutes"); do
  sleep 60
  echo "$m $(sample)" | tee -a "$out/samples.txt" >&2
done
kill "$churn_pid" 2>/dev/null || true
wait "$churn_pid" 2>/dev/null || true
# The waves under way end by themselves within one wave's time.
sleep "$((wave + 10))"
echo "churn over; ${quiet}s quiet" >&2
sleep "$quiet"
read -r f_tasks f_threads f_fds f_db f_rss f_heap f_anon f_file f_in_use f_free <<<"$(sample)"
echo "final $f_tasks $f_threads $f_fds $f_db $f_rss $f_heap $f_anon $f_file $f_in_use $f_free" >>"$out/samples.txt"
cp "/proc/$pid/smaps" "$out/smaps.final" 2>/dev/null || true

joined=0; failed=0
for f in "$out"/waves/*.json; do
  [ -s "$f" ] || continue
  joined=$((joined + $(jq '.participants.connected // 0' "$f")))
  failed=$((failed + $(jq '.participants.failed // 0' "$f")))
done
status=0
printf '\n%-16s %12s %12s %9s\n' measure baseline final change
check() {
  local name="$1" b="$2" f="$3"
  local verdict
  verdict="$(awk -v b="$b" -v f="$f" -v t="$tolerance" 'BEGIN {
    pct = (b > 0) ? (f - b) * 100 / b : (f > 0 ? 100 : 0);
    printf "%+.1f%% %s", pct, (f <= b * (1 + t / 100)) ? "ok" : "OVER"
  }')"
  printf '%-16s %12s %12s %9s\n' "$name" "$b" "$f" "$verdict"
  case "$verdict" in *OVER) status=1 ;; esac
}
check tasks "$b_tasks" "$f_tasks"
check threads "$b_threads" "$f_threads"
check fds "$b_fds" "$f_fds"
check db_connections "$b_db" "$f_db"
check rss_kib "$b_rss" "$f_rss"
echo "SQLite's caches (part of rss_kib, not checked): $b_heap KiB at the baseline, $f_heap KiB at the end"
echo "rss_kib's parts (not checked): anonymous $b_anon -> $f_anon KiB, mapped files $b_file -> $f_file KiB"
echo "the allocator's heap (not checked): in use $b_in_use -> $f_in_use KiB, free and kept $b_free -> $f_free KiB"
echo "participants connected over the churn: $joined, failures: $failed; ${minutes} min, samples: $out/samples.txt"
if [ "$status" -ne 0 ]; then
  echo "FAILED: a measure stayed more than ${tolerance}% above its baseline after the churn" >&2
fi
exit "$status"
