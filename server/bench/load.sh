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
URL="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
PID=

for tool in wrk hey curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install -y $tool)" >&2; exit 1; }
done
[ -f "$ARTIFACT" ] || { echo "bench: no artifact at $ARTIFACT; run 'make train' first" >&2; exit 1; }

stop() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; wait "$PID" || true; fi
  PID=
}
trap 'stop; rm -rf "$WORK"' EXIT

# The server as deployed: JSON logs at info (sent to /dev/null), one worker
# per core, no drain so each stop is quick.
start() {
  HEARTLAB_SERVER_HOST=127.0.0.1 HEARTLAB_SERVER_PORT=$PORT HEARTLAB_SERVER_ARTIFACT=$ARTIFACT \
    HEARTLAB_SERVER_DRAIN_SECONDS=0 HEARTLAB_SERVER_LOG_FORMAT=json RUST_LOG=info \
    "$BIN" >/dev/null 2>&1 &
  PID=$!
  for _ in $(seq 1 500); do
    curl -fs "$URL/readyz" >/dev/null 2>&1 && return 0
    sleep 0.01
  done
  echo "bench: the server did not become ready" >&2
  exit 1
}

rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

# wrk's "Requests/sec:" line, and its total request count.
rps() { awk '/^Requests\/sec/ { printf "%d", $2 }' "$1"; }
total() { awk '/requests in/ { print $1 }' "$1"; }

patient='{"age":63,"sex":1,"cp":4,"trestbps":145,"chol":null,"fbs":1,"restecg":2,"thalach":150,"exang":0,"oldpeak":2.3,"slope":3,"ca":0,"thal":6}'
echo "$patient" > "$WORK/patient.json"
python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(json.dumps({'rows':[p]*1000}))" \
  "$WORK/patient.json" > "$WORK/batch.json"
export BENCH_BODY="$WORK/patient.json"

echo "bench: start to ready (20 starts)"
startup=$(python3 "$HERE/start_to_ready.py" "$BIN" "$ARTIFACT" "$PORT" 20)

start
wrk -t2 -c32 -d2s -s "$HERE/post.lua" "$URL/v1/predict" >/dev/null
rss_idle=$(rss_mib)

echo "bench: /livez peak (${DURATION}s)"
wrk -t2 -c32 -d"${DURATION}s" "$URL/livez" > "$WORK/livez.txt"
echo "bench: /v1/predict peak (${DURATION}s)"
wrk -t2 -c32 -d"${DURATION}s" -s "$HERE/post.lua" "$URL/v1/predict" > "$WORK/predict.txt" &
wrk_pid=$!
sleep $(( DURATION / 2 ))
rss_load=$(rss_mib)
wait $wrk_pid
livez_rps=$(rps "$WORK/livez.txt")
predict_rps=$(rps "$WORK/predict.txt")
ratio=$(( 100 * predict_rps / livez_rps ))

half=$(( predict_rps / 2 ))
echo "bench: p99 at half of peak ($half requests/s, ${DURATION}s)"
hey -z "${DURATION}s" -c 8 -q $(( half / 8 )) -m POST -T application/json \
  -D "$WORK/patient.json" "$URL/v1/predict" > "$WORK/half.txt"
p99_ms=$(awk '/99% in/ { printf "%.2f", $3 * 1000 }' "$WORK/half.txt")
half_rps=$(awk '/Requests\/sec/ { printf "%d", $2 }' "$WORK/half.txt")
half_bad=$(awk '/^\s*\[[0-9]+\]/ { gsub(/[\[\]]/, "", $1); if ($1 != "200") n += $2 } END { print n + 0 }' "$WORK/half.txt")

echo "bench: batches of 1000 over HTTP"
hey -n 200 -c 1 -m POST -T application/json -D "$WORK/batch.json" "$URL/v1/predict/batch" \
  > "$WORK/batch.txt"
batch_http_ms=$(awk '/50% in/ { printf "%.2f", $3 * 1000 }' "$WORK/batch.txt")

# A million requests and more: long enough to see memory grow, if it does.
seconds=$(( 1100000 / predict_rps + 1 ))
echo "bench: about a million predictions (${seconds}s)"
wrk -t2 -c32 -d"${seconds}s" -s "$HERE/post.lua" "$URL/v1/predict" > "$WORK/million.txt"
million=$(total "$WORK/million.txt")
rss_after=$(rss_mib)
stop

batch_us=n/a
if [ -n "$CRITERION" ] && [ -f "$CRITERION/check_and_score_1000_rows/new/estimates.json" ]; then
  batch_us=$(python3 -c "import json,sys; print('%.0f' % (json.load(open(sys.argv[1]))['median']['point_estimate'] / 1000))" \
    "$CRITERION/check_and_score_1000_rows/new/estimates.json")
  parse_us=$(python3 -c "import json,sys; print('%.0f' % (json.load(open(sys.argv[1]))['median']['point_estimate'] / 1000))" \
    "$CRITERION/parse_check_and_score_1000_rows/new/estimates.json")
fi

verdict() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo yes; else echo no; fi; }
mkdir -p "$(dirname "$OUT")"
{
  echo "| what | target | measured | met |"
  echo "|---|---|---:|---|"
  echo "| /livez peak throughput (HTTP ceiling) | | $livez_rps req/s | |"
  echo "| /v1/predict peak throughput | ≥ 80% of /livez | $predict_rps req/s ($ratio%) | $(verdict "$ratio >= 80") |"
  echo "| p99 latency at half of peak ($half_rps req/s sent) | < 5 ms | $p99_ms ms ($half_bad non-200) | $(verdict "$p99_ms < 5 and $half_bad == 0") |"
  echo "| batch of 1000 rows checked and scored in the server (criterion median) | < 2 ms | $batch_us µs | $(verdict "'$batch_us' != 'n/a' and float('0$batch_us') < 2000") |"
  if [ "$batch_us" != n/a ]; then
    echo "| the same with JSON parsing of the 1000 rows | | $parse_us µs | |"
  fi
  echo "| batch of 1000 rows over HTTP, median round trip | | $batch_http_ms ms | |"
  echo "| resident memory, idle after warm-up | | $rss_idle MiB | |"
  echo "| resident memory at peak load | < 20 MiB | $rss_load MiB | $(verdict "$rss_load < 20") |"
  echo "| resident memory after $million more predictions | < 20 MiB, no growth | $rss_after MiB | $(verdict "$rss_after < 20 and $rss_after <= $rss_load + 1") |"
  echo "| process start to ready (median, max of 20) | < 100 ms | $startup | $(verdict "${startup%% *} < 100") |"
  echo
  echo "Measured by \`make bench-server\` on $(nproc) cores, $(date -u +%Y-%m-%d), with wrk and hey on"
  echo "the same machine as the server (they share the cores). Release build, JSON logs at info."
} > "$OUT"
cat "$OUT"
