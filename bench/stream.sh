#!/usr/bin/env bash
# Benchmark 2: streaming latency, gateway vs plain proxy_pass with
# proxy_buffering off, to the same timed SSE upstream (echo module: 20
# events, echo_flush + echo_sleep 0.05 between them).
#
#   bash bench/stream.sh            (MODULE=... to pick the .so)
#
# Then ST_SAMPLES single one-event streams per path, one at a time and
# alternating, for the time to the first event alone.
#
# Environment: ST_ROUNDS (10), ST_CONCURRENCY (5): 50 streams per path;
# ST_SAMPLES (200).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ST_ROUNDS=${ST_ROUNDS:-10}
ST_CONCURRENCY=${ST_CONCURRENCY:-5}
ST_SAMPLES=${ST_SAMPLES:-200}

check_prereqs node curl taskset

log "stream: module $MODULE"
start_pair

body=$BENCH_TMP/body-stream.json
make_body 1024 stream >"$body"
smoke stream/sse "$body"

# warm-up
node "$BENCH_DIR/stream_client.mjs" --gw "$FRONT/gw/stream/sse/chat/completions" \
    --plain "$FRONT/plain/stream/sse" --body "$body" --rounds 2 \
    --concurrency 2 >/dev/null

on_cpu "$CLIENT_CPU" node "$BENCH_DIR/stream_client.mjs" \
    --gw "$FRONT/gw/stream/sse/chat/completions" --plain "$FRONT/plain/stream/sse" \
    --body "$body" --rounds "$ST_ROUNDS" --concurrency "$ST_CONCURRENCY" \
    --events 20 --gw1 "$FRONT/gw/stream/sse1/chat/completions" --plain1 "$FRONT/plain/stream/sse1" \
    --samples "$ST_SAMPLES" ${BENCH_SUMMARY:+--summary "$BENCH_SUMMARY"}

stop_pair
