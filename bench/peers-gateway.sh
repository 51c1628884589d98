#!/usr/bin/env bash
# GATEWAY_CMD for the shared peers harness (../shared/bench/peers): runs the built Tollgate in the
# foreground on 127.0.0.1:$PORT with one API proxying everything to $UPSTREAM_URL. Its settings are
# the defaults (metrics, access log at LOG_LEVEL=info into the harness's log file, metering) unless
# the environment says otherwise (LOG_LEVEL=warn builds no access line: not the defaults).
#   GATEWAY_NAME=tollgate GATEWAY_CMD="bash $PWD/bench/peers-gateway.sh" bash ../shared/bench/peers/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=$(mktemp -d /tmp/tollgate-peers.XXXXXX)
trap 'rm -rf "$data"' EXIT
token=peers-bench-admin-token-0123456789
admin_port=$((PORT + 1000))
status_port=$((PORT + 1001))
TOLLGATE_DATA=$data ADMIN_TOKEN=$token PROXY_HOST=127.0.0.1 PROXY_PORT=$PORT ADMIN_PORT=$admin_port \
  STATUS_HOST=127.0.0.1 STATUS_PORT=$status_port PROXY_TLS_PORT=$((PORT + 1002)) LOG_LEVEL=${LOG_LEVEL:-info} NODE_ENV=production \
  node --max-semi-space-size=4 ${NODE_ARGS:-} "$root/apps/cli/dist/main.js" start all &
pid=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$admin_port/healthz" >/dev/null && break; sleep 0.1; done
# TOLLGATE_BENCH_CONFIG=limited: key-auth + a two-window rate limit under /limited (bench/configs.mjs;
# with REDIS_URL set the limit counts in Redis); run with REQ_PATH=/limited and
# GATEWAY_HEADER="apikey: tg_bench_key_0123456789abcdefghij".
config=$(cd "$root" && node --input-type=module -e "import { plainConfig, limitedConfig } from './bench/configs.mjs'; process.stdout.write((process.env.TOLLGATE_BENCH_CONFIG === 'limited' ? limitedConfig : plainConfig)(process.env.UPSTREAM_URL));")
curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/yaml' --data-binary "$config" \
  "http://127.0.0.1:$admin_port/config" >/dev/null
wait "$pid"
