#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, cargo-fuzz and libFuzzer on nightly) and runs each for a bounded
# time, two at a time; fails on any crash, timeout or leak of memory past the limit.
#   FUZZ_SECS     seconds per target (default 60)
#   FUZZ_CPU_SECS instead of FUZZ_SECS: run each target until it has used this many CPU seconds
#                 (user + system, read from /proc), however long that takes on a busy machine
#   FUZZ_JOBS     targets run at once (default 2)
#   FUZZ_TARGETS  space-separated targets to run (default: all of them)
#   FUZZ_CORPUS   where the growing corpora live (default ~/.cache/convene-fuzz/corpus): each run
#                 starts from the committed seeds (fuzz/corpus/<target>) and from what earlier runs
#                 on this machine found, and adds what it finds there, never to the repository.
# Crashes are written to fuzz/artifacts/<target>/ (see docs/testing.md for what to do with one).
# Installs cargo-fuzz and the nightly toolchain when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${FUZZ_SECS:-60}
CPU_SECS=${FUZZ_CPU_SECS:-}
JOBS=${FUZZ_JOBS:-2}
CORPUS=${FUZZ_CORPUS:-$HOME/.cache/convene-fuzz/corpus}
# The fuzz build has its own target directory: its flags (coverage instrumentation) differ from
# every other build's, so sharing one would only make each rebuild the other's artifacts. It lives
# outside the checkout, so that a later run (CI's fresh clone on the same machine) rebuilds only
# the project's own crates, not its ~400 dependencies.
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/convene-fuzz/target}
TRIPLE=x86_64-unknown-linux-gnu

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "== installing the nightly toolchain (libFuzzer's instrumentation needs it)" >&2
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz
fi

start=$(date +%s)
# -s none: no sanitizer. The targets are Rust, where what a fuzzer finds is a panic (index out of
# range, overflow, unwrap, a failed assertion), which needs no sanitizer; AddressSanitizer would
# slow every run about twice over and checks nothing in safe code. -a keeps debug assertions and
# overflow checks on, so an overflow on network input is a crash, as it is in the tests.
# Release (optimised) code: ten times as many runs per second as a debug build.
echo "== building the fuzz targets" >&2
(cd fuzz && cargo +nightly fuzz build -s none -a --target-dir "$FUZZ_TARGET_DIR")
built=$(date +%s)
BIN=$FUZZ_TARGET_DIR/$TRIPLE/release

ALL=$(cd fuzz && cargo +nightly fuzz list)
TARGETS=${FUZZ_TARGETS:-$ALL}
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT

# CPU seconds (user + system) process $1 has used so far, from /proc/PID/stat (fields 14 and 15,
# in clock ticks; counted after the ")" that ends the command name, which may hold spaces).
cpu_of() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  stat=${stat##*) }
  awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($12 + $13) / hz}' <<<"$stat"
}

run_one() {
  local t=$1
  mkdir -p "$CORPUS/$t" "$ROOT/fuzz/artifacts/$t"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a run past 2 GiB is a leak or a bomb.
  local status=0 limit=$SECS
  # With a CPU budget the wall-clock limit is only a backstop: the loop below stops the run.
  [ -n "$CPU_SECS" ] && limit=$((CPU_SECS * 20))
  # bash's `time` reports the CPU seconds (user and system) the run took.
  TIMEFORMAT='%U %S'
  { time {
      "$BIN/$t" -max_total_time="$limit" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$ROOT/fuzz/artifacts/$t/" "$CORPUS/$t" "$ROOT/fuzz/corpus/$t" \
        >"$LOGS/$t.log" 2>&1 &
      local pid=$!
      if [ -n "$CPU_SECS" ]; then
        while kill -0 "$pid" 2>/dev/null && [ "$(cpu_of "$pid")" -lt "$CPU_SECS" ]; do sleep 5; done
        # SIGINT: libFuzzer prints its final stats and exits with -interrupted_exitcode (72).
        kill -INT "$pid" 2>/dev/null && touch "$LOGS/$t.interrupted"
      fi
      wait "$pid"
    } || status=$?; } 2>"$LOGS/$t.cpu"
  # Our own interrupt at the end of the budget is a normal end, not a failure.
  if [ "$status" -eq 72 ] && [ -e "$LOGS/$t.interrupted" ]; then status=0; fi
  if [ "$status" -eq 0 ]; then
    echo ok >"$LOGS/$t.status"
  else
    echo "FAILED (exit $status)" >"$LOGS/$t.status"
  fi
}
export -f run_one cpu_of
export BIN CORPUS ROOT SECS CPU_SECS LOGS

if [ -n "$CPU_SECS" ]; then budget="${CPU_SECS} CPU seconds"; else budget="${SECS}s"; fi
echo "== running each target for $budget, $JOBS at a time: $(echo $TARGETS)" >&2
printf '%s\n' $TARGETS | xargs -P "$JOBS" -I{} bash -c 'run_one {}'
end=$(date +%s)

failed=0
printf '%-10s %-18s %8s %12s %8s %8s %8s\n' target result cpu-s execs exec/s cov ft
for t in $TARGETS; do
  log=$LOGS/$t.log
  status=$(cat "$LOGS/$t.status" 2>/dev/null || echo "not run")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep -E ' cov: ' | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  cpu=$(awk '{printf "%d", $1 + $2}' "$LOGS/$t.cpu" 2>/dev/null || true)
  printf '%-10s %-18s %8s %12s %8s %8s %8s\n' "$t" "$status" "${cpu:--}" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}"
  if [ "$status" != ok ]; then
    failed=1
    echo "---- $t: the end of its log (crash inputs in fuzz/artifacts/$t/)" >&2
    tail -40 "$log" >&2
  fi
done
echo "fuzz: build $((built - start))s, runs $((end - built))s, total $((end - start))s"
n=$(printf '%s\n' $TARGETS | wc -l)
bad=$(grep -L '^ok$' "$LOGS"/*.status 2>/dev/null | wc -l)
echo "fuzz: $((n - bad)) passed, $bad failed"
if [ "$failed" -ne 0 ]; then
  echo "FAILED: a fuzz target crashed (see above)" >&2
  exit 1
fi
