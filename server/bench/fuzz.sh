#!/usr/bin/env bash
# Fuzzes the running server from its own OpenAPI document with schemathesis:
# valid and invalid requests generated from the schemas, every answer checked
# against the document (status codes, content types, bodies) and for 5xx.
#
#   server/bench/fuzz.sh BIN ARTIFACT SCHEMATHESIS PORT
#
# Starts the server on loopback, runs the fuzzer, always stops the server.
set -euo pipefail

BIN=$1
ARTIFACT=$2
SCHEMATHESIS=$3
PORT=$4
URL="http://127.0.0.1:$PORT"
LOG=$(mktemp)

[ -f "$ARTIFACT" ] || { echo "fuzz: no artifact at $ARTIFACT; run 'make train' first" >&2; exit 1; }

HEARTLAB_SERVER_HOST=127.0.0.1 HEARTLAB_SERVER_PORT=$PORT HEARTLAB_SERVER_ARTIFACT=$ARTIFACT \
  HEARTLAB_SERVER_DRAIN_SECONDS=0 HEARTLAB_SERVER_LOG_FORMAT=json "$BIN" >"$LOG" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
SCHEMATHESIS=$(cd "$(dirname "$SCHEMATHESIS")" && pwd)/$(basename "$SCHEMATHESIS")

for _ in $(seq 1 300); do
  curl -fs "$URL/readyz" >/dev/null 2>&1 && break
  kill -0 $PID 2>/dev/null || { cat "$LOG" >&2; echo "fuzz: the server exited" >&2; exit 1; }
  sleep 0.1
done
curl -fs "$URL/readyz" >/dev/null || { tail -20 "$LOG" >&2; echo "fuzz: never ready" >&2; exit 1; }

# Run from a scratch folder: hypothesis and schemathesis leave their caches
# in the working directory.
SCRATCH=$(mktemp -d)
(cd "$SCRATCH" && "$SCHEMATHESIS" run "$URL/openapi.json" \
  --checks all \
  --max-examples "${FUZZ_EXAMPLES:-100}" \
  --seed "${FUZZ_SEED:-7}" \
  --no-color)
rm -rf "$SCRATCH"

# The fuzzer saw no 5xx in its own checks; the server's log must agree.
if grep -q '"status":5[0-9][0-9]' "$LOG"; then
  echo "fuzz: the server logged a 5xx answer" >&2
  grep '"status":5[0-9][0-9]' "$LOG" | head -5 >&2
  exit 1
fi
echo "fuzz: no server error, every answer fits the OpenAPI document"
