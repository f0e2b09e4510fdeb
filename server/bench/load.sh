#!/usr/bin/env bash
# Load-tests the release server on loopback and writes a Markdown table.
#
#   server/bench/load.sh BIN ARTIFACT OUT.md [CRITERION_DIR]
#
# BIN is the release heartlab-server, ARTIFACT the model from `make train`,
# CRITERION_DIR the folder where `cargo bench --bench batch` left its
# estimates. wrk measures peak throughput (it has no fixed-rate mode); hey
# sends the fixed rate for the latency at half of peak. Every request goes
# to 127.0.0.1 and every run is bounded in time.
set -euo pipefail

BIN=$1
ARTIFACT=$2
OUT=$3
CRITERION=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${BENCH_PORT:-18555}
DURATION=${BENCH_DURATION:-10}
# Rounds of the peak comparison, and the length of each of their runs: many
# short rounds, because this machine's speed moves within seconds (the same
# binary's /livez from 60k to 90k requests/s a minute apart) and a ratio is
# only fair between runs that are close in time.
ROUNDS=${BENCH_ROUNDS:-20}
PEAK=${BENCH_PEAK_SECONDS:-2}
URL="http://127.0.0.1:$PORT"
# A second server with request log lines off, loaded in turn with the first.
QUIET_URL="http://127.0.0.1:$(( PORT + 1 ))"
WORK=$(mktemp -d)
PID=
QUIET_PID=

for tool in wrk hey curl python3; do
  command -v "$tool" >/dev/null \
    || { echo "bench: $tool is not installed (apt-get install -y $tool)" >&2; exit 1; }
done
[ -f "$ARTIFACT" ] \
  || { echo "bench: no artifact at $ARTIFACT; run 'make train' first" >&2; exit 1; }

halt() { if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then kill -TERM "$1"; wait "$1" || true; fi; }
stop() { halt "$PID"; PID=; }
trap 'stop; halt "$QUIET_PID"; rm -rf "$WORK"' EXIT

# The server as deployed: JSON logs at info (sent to /dev/null), one worker
# per core, no drain so each stop is quick. Arguments: log level, artifact,
# the endpoint that must answer 200 before the run goes on, and the URL.
# The new process's id is left in STARTED.
start() {
  local url=${4:-$URL}
  HEARTLAB_SERVER_HOST=127.0.0.1 HEARTLAB_SERVER_PORT=${url##*:} \
    HEARTLAB_SERVER_ARTIFACT=${2:-$ARTIFACT} HEARTLAB_SERVER_DRAIN_SECONDS=0 \
    HEARTLAB_SERVER_LOG_FORMAT=json RUST_LOG=${1:-info} "$BIN" >/dev/null 2>&1 &
  STARTED=$!
  for _ in $(seq 1 500); do
    curl -fs "$url/${3:-readyz}" >/dev/null 2>&1 && return 0
    sleep 0.01
  done
  echo "bench: the server did not answer on /${3:-readyz}" >&2
  exit 1
}

# A server's CPU time so far, in microseconds: user and system time, or with
# "user" as $2 user time alone (its own code and libraries; the rest is the
# kernel's, mostly loopback networking). $1 = its process id.
cpu_us() {
  awk -v hz="$(getconf CLK_TCK)" -v user_only="${2:-}" \
    '{ printf "%d", ($14 + (user_only ? 0 : $15)) * 1000000 / hz }' "/proc/$1/stat"
}

# Microseconds of server CPU per request over one wrk run: $1 = process id,
# $2 = its CPU before, $3 = wrk output, $4 = "user" for user time alone,
# given to a tenth of a microsecond.
per_request() {
  awk -v now="$(cpu_us "$1" "${4:-}")" -v before="$2" -v n="$(total "$3")" \
    -v format="$([ -n "${4:-}" ] && echo '%.1f' || echo '%d')" \
    'BEGIN { printf format "\n", (now - before) / n }'
}

rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

# wrk's "Requests/sec:" line, and its total request count.
rps() { awk '/^Requests\/sec/ { printf "%d", $2 }' "$1"; }
total() { awk '/requests in/ { print $1 }' "$1"; }

# One patient with a missing value, so each prediction also imputes.
PATIENT="$HERE/patient.json"
python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(json.dumps({'rows':[p]*1000}))" \
  "$PATIENT" > "$WORK/batch.json"
export BENCH_BODY="$PATIENT"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: start to ready (20 starts)"
startup=$(python3 "$HERE/start_to_ready.py" "$BIN" "$ARTIFACT" "$PORT" 20)

# The same process with no model at all: the difference is what the model costs.
start info "$WORK/no-such-artifact.json" livez
PID=$STARTED
sleep 0.5
rss_no_model=$(rss_mib)
stop

start
PID=$STARTED
sleep 0.5
rss_fresh=$(rss_mib)
wrk -t2 -c32 -d2s -s "$HERE/post.lua" "$URL/v1/predict" >/dev/null
rss_idle=$(rss_mib)

# What the per-request log line costs: the same server with it filtered out,
# loaded in the same rounds so that both pairs meet the same machine.
start warn "" readyz "$QUIET_URL"
QUIET_PID=$STARTED

# The machine is shared, so throughput is noisy, and the host's speed
# drifts from minute to minute: /livez and /v1/predict run back to back in
# each round, on each server in turn. Each throughput is the median of its
# rounds; each ratio is the median of the rounds' own ratios, so that a
# round on a slow minute is compared with itself.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# One run at peak in round $round: $1 = server process id, $2 = URL, $3 = route,
# $4 = name of the run.
peak() {
  local cpu user args=()
  cpu=$(cpu_us "$1")
  user=$(cpu_us "$1" user)
  [ "$3" = livez ] || args=(-s "$HERE/post.lua")
  wrk -t2 -c32 -d"${PEAK}s" "${args[@]}" "$2/$3" > "$WORK/$4-$round.txt" &
  local wrk_pid=$!
  if [ "$4" = predict ]; then
    sleep $(( PEAK / 2 ))
    rss_mib >> "$WORK/rss-load.txt"; echo >> "$WORK/rss-load.txt"
  fi
  wait $wrk_pid
  per_request "$1" "$cpu" "$WORK/$4-$round.txt" >> "$WORK/cpu-$4.txt"
  per_request "$1" "$user" "$WORK/$4-$round.txt" user >> "$WORK/user-$4.txt"
}
for round in $(seq 1 "$ROUNDS"); do
  echo "bench: round $round of $ROUNDS: /livez then /v1/predict at peak, logs on then off" \
    "(${PEAK}s each)"
  peak "$PID" "$URL" livez livez
  peak "$PID" "$URL" v1/predict predict
  peak "$QUIET_PID" "$QUIET_URL" livez livez-quiet
  peak "$QUIET_PID" "$QUIET_URL" v1/predict predict-quiet
done
halt "$QUIET_PID"
QUIET_PID=

cpu_median() { median < "$WORK/cpu-$1.txt"; }
rps_median() { for r in $(seq 1 "$ROUNDS"); do rps "$WORK/$1-$r.txt"; echo; done | median; }
# Each round's 100 * $1 / $2, one line per round, and their median.
round_ratios() {
  for r in $(seq 1 "$ROUNDS"); do
    echo $(( 100 * $(rps "$WORK/$1-$r.txt") / $(rps "$WORK/$2-$r.txt") ))
  done
}
ratio_median() { round_ratios "$1" "$2" | median; }
user_livez=$(median < "$WORK/user-livez.txt")
user_predict=$(median < "$WORK/user-predict.txt")
cpu_livez=$(cpu_median livez)
cpu_predict=$(cpu_median predict)
cpu_livez_quiet=$(cpu_median livez-quiet)
cpu_predict_quiet=$(cpu_median predict-quiet)
livez_rps=$(rps_median livez)
predict_rps=$(rps_median predict)
livez_quiet_rps=$(rps_median livez-quiet)
predict_quiet_rps=$(rps_median predict-quiet)
rss_load=$(sort -n "$WORK/rss-load.txt" | tail -1)
ratio=$(ratio_median predict livez)
ratio_quiet=$(ratio_median predict-quiet livez-quiet)
# The middle half of the rounds' ratios: from the lower to the upper quartile.
middle_half() {
  sort -n | awk '{ v[NR] = $1 } END { printf "%s–%s%%", v[int(NR / 4) + 1], v[int(3 * NR / 4)] }'
}
spread=$(round_ratios predict livez | middle_half)
spread_quiet=$(round_ratios predict-quiet livez-quiet | middle_half)

half=$(( predict_rps / 2 ))
echo "bench: p99 at half of peak ($half requests/s, ${DURATION}s)"
hey -z "${DURATION}s" -c 32 -q $(( half / 32 )) -m POST -T application/json \
  -D "$PATIENT" "$URL/v1/predict" > "$WORK/half.txt"
p99_ms=$(awk '/99% in/ { printf "%.2f", $3 * 1000 }' "$WORK/half.txt")
half_rps=$(awk '/Requests\/sec/ { printf "%d", $2 }' "$WORK/half.txt")
half_bad=$(awk '/^\s*\[[0-9]+\]/ { gsub(/[\[\]]/, "", $1); if ($1 != "200") n += $2 }
  END { print n + 0 }' "$WORK/half.txt")

echo "bench: batches of 1000 over HTTP"
hey -n 200 -c 1 -m POST -T application/json -D "$WORK/batch.json" "$URL/v1/predict/batch" \
  > "$WORK/batch.txt"
batch_http_ms=$(awk '/50% in/ { printf "%.2f", $3 * 1000 }' "$WORK/batch.txt")

# Two runs of a million requests each: memory may rise to a plateau in
# the first (allocator arenas, buffers), but must not rise again in the second.
seconds=$(( 1000000 / predict_rps + 1 ))
echo "bench: a million predictions, twice (${seconds}s each)"
wrk -t2 -c32 -d"${seconds}s" -s "$HERE/post.lua" "$URL/v1/predict" > "$WORK/million-1.txt"
rss_first=$(rss_mib)
wrk -t2 -c32 -d"${seconds}s" -s "$HERE/post.lua" "$URL/v1/predict" > "$WORK/million-2.txt"
rss_after=$(rss_mib)
million=$(( $(total "$WORK/million-1.txt") + $(total "$WORK/million-2.txt") ))
stop

# A criterion estimate in microseconds (the median), or n/a without one.
estimate_us() {
  local file="$CRITERION/$1/new/estimates.json"
  if [ -n "$CRITERION" ] && [ -f "$file" ]; then
    python3 -c "import json, sys
print('%.0f' % (json.load(open(sys.argv[1]))['median']['point_estimate'] / 1000))" "$file"
  else
    echo n/a
  fi
}
batch_us=$(estimate_us check_and_score_1000_rows)
parse_us=$(estimate_us parse_check_and_score_1000_rows)
artifact_kib=$(( $(stat -c %s "$ARTIFACT") / 1024 ))
cpu_ratio=$(( 100 * cpu_livez / cpu_predict ))
cpu_ratio_quiet=$(( 100 * cpu_livez_quiet / cpu_predict_quiet ))

verdict() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo yes; else echo no; fi; }
row() { printf '| %s | %s | %s | %s |\n' "$@"; }
mkdir -p "$(dirname "$OUT")"
{
  row what target measured met
  echo "|---|---|---:|---|"
  row "/livez peak throughput, the HTTP ceiling (median of $ROUNDS rounds)" "" \
    "$livez_rps req/s" ""
  row "/v1/predict peak throughput (median of $ROUNDS rounds)" "" "$predict_rps req/s" ""
  row "/v1/predict as a share of /livez in the same round (median of $ROUNDS rounds)" \
    "≥ 80%" "$ratio% (middle half $spread)" "$(verdict "$ratio >= 80")"
  row "server CPU per request, /livez and /v1/predict (median of $ROUNDS rounds)" "" \
    "$cpu_livez and $cpu_predict µs ($cpu_ratio%)" ""
  row "of which in user space: the server's own code and libraries (median)" "" \
    "$user_livez and $user_predict µs" ""
  row "the same share, request log lines off (\`RUST_LOG=warn\`, median)" "≥ 80%" \
    "$ratio_quiet% (middle half $spread_quiet)" "$(verdict "$ratio_quiet >= 80")"
  row "server CPU per request, request log lines off (median of $ROUNDS rounds)" "" \
    "$cpu_livez_quiet and $cpu_predict_quiet µs ($cpu_ratio_quiet%)" ""
  row "p99 latency at half of peak ($half_rps req/s sent)" "< 5 ms" \
    "$p99_ms ms ($half_bad non-200)" "$(verdict "$p99_ms < 5 and $half_bad == 0")"
  row "batch of 1000 rows checked and scored in the server (criterion median)" "< 2 ms" \
    "$batch_us µs" "$(verdict "'$batch_us' != 'n/a' and float('0$batch_us') < 2000")"
  row "the same with the JSON of the 1000 rows parsed too" "" "$parse_us µs" ""
  row "batch of 1000 rows over HTTP, median round trip" "" "$batch_http_ms ms" ""
  row "the model artifact on disk" "" "$artifact_kib KiB" ""
  row "resident memory, just started, no model (not ready)" "" "$rss_no_model MiB" ""
  row "resident memory, just started, model loaded (ready)" "" "$rss_fresh MiB" ""
  row "resident memory, idle after a 2 s warm-up load" "" "$rss_idle MiB" ""
  row "resident memory at peak load" "< 20 MiB" "$rss_load MiB" "$(verdict "$rss_load < 20")"
  row "resident memory after the first million predictions" "< 20 MiB" "$rss_first MiB" \
    "$(verdict "$rss_first < 20")"
  row "resident memory after $million predictions in all" "< 20 MiB, no growth" \
    "$rss_after MiB" "$(verdict "$rss_after < 20 and $rss_after <= $rss_first + 0.5")"
  row "process start to ready (median, max of 20)" "< 100 ms" "$startup" \
    "$(verdict "${startup%% *} < 100")"
  echo
  echo "Measured by \`make bench-server\` on $(nproc) cores, $(date -u +%Y-%m-%d), with wrk and hey"
  echo "on the same machine as the server (they share the cores). Release build, JSON logs at"
  echo "info, one log line per prediction. Load average when the run began: $load_before."
} > "$OUT"
cat "$OUT"
