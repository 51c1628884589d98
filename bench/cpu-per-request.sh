#!/usr/bin/env bash
# CPU time per proxied request of one gateway process, under wrk: a measure that holds better than
# req/s on a shared, noisy VM (issue #16). Needs wrk, taskset and the shared peers harness
# (../shared/bench/peers, for its node:http upstream and the node-proxy-min ceiling).
#
#   bash bench/cpu-per-request.sh <label> plain|limited|npm
#
# plain: Tollgate (`start all`, embedded store, bench/peers-gateway.sh) with one catch-all route;
# limited: key-auth + a two-window rate limit (`limitedConfig` of bench/configs.mjs; Redis when
# REDIS_URL is set); npm: the peers harness's node-proxy-min. The gateway is pinned to CPU 0, wrk
# and the upstream to CPU 1; after a 2 s warm-up, a 5 s `wrk -t1 -c50` run; the gateway's user +
# system CPU (/proc/<pid>/stat) over that run divided by the requests it served. Alternate the
# builds you compare (ROOT_DIR=<checkout>) and repeat: single runs vary by ±5 % on a quiet VM.
# PROF=1 writes a --cpu-prof of the run into $OUT/<label>/. PORT_BASE moves the ports.
set -u
label=$1; mode=${2:-plain}
here=$(cd "$(dirname "$0")/.." && pwd)
root=${ROOT_DIR:-$here}
peers=${PEERS_DIR:-$here/../shared/bench/peers}
pb=${PORT_BASE:-19000}; up=$((pb + 1)); port=$((pb + 100))
out=${OUT:-/tmp/tollgate-cpu-per-request}
[ -f "$peers/servers/upstream-node.js" ] || { echo "no peers harness at $peers (set PEERS_DIR)" >&2; exit 2; }
PORT=$up taskset -c 1 node "$peers/servers/upstream-node.js" >/dev/null 2>&1 &
upid=$!
sleep 0.5
hdr=(); path=/
if [ "$mode" = limited ]; then hdr=(-H "apikey: tg_bench_key_0123456789abcdefghij"); path=/limited; fi
profdir=$out/$label; rm -rf "$profdir"; mkdir -p "$profdir"
nodeopts=""
[ "${PROF:-0}" = 1 ] && nodeopts="--cpu-prof --cpu-prof-dir=$profdir --cpu-prof-interval=200"
if [ "$mode" = npm ]; then
  # node-proxy-min has no signal handler: a profile needs an exit on SIGINT.
  echo "process.on('SIGINT', () => process.exit(0));" > "$profdir/exit-on-int.cjs"
  PORT=$port UPSTREAM_URL=http://127.0.0.1:$up taskset -c 0 node $nodeopts -r "$profdir/exit-on-int.cjs" "$peers/servers/node-proxy-min.js" >/dev/null 2>&1 &
  gpid=$!; nodepid=$gpid
else
  TOLLGATE_BENCH_CONFIG=$mode PORT=$port UPSTREAM_URL=http://127.0.0.1:$up NODE_ARGS="$nodeopts" taskset -c 0 bash "$root/bench/peers-gateway.sh" >"$profdir/gateway.log" 2>&1 &
  gpid=$!
fi
ready=0
for _ in $(seq 1 900); do curl -sf "${hdr[@]}" "http://127.0.0.1:$port$path" >/dev/null && { ready=1; break; }; sleep 0.1; done
if [ "$ready" = 0 ]; then echo "$label: the gateway did not answer 2xx within 90 s (see $profdir)" >&2; kill "$gpid" "$upid" 2>/dev/null; exit 1; fi
[ "$mode" = npm ] || nodepid=$(pgrep -P "$gpid" node || echo "$gpid")
taskset -c 1 wrk -t1 -c50 -d2s "${hdr[@]}" "http://127.0.0.1:$port$path" >/dev/null
t0=$(awk '{print $14+$15}' "/proc/$nodepid/stat")
res=$(taskset -c 1 wrk -t1 -c50 -d5s "${hdr[@]}" "http://127.0.0.1:$port$path")
t1=$(awk '{print $14+$15}' "/proc/$nodepid/stat")
reqs=$(echo "$res" | awk '/requests in/{print $1}')
rps=$(echo "$res" | awk '/Requests\/sec/{print $2}')
non2xx=$(echo "$res" | awk '/Non-2xx/{print $NF}')
tck=$(getconf CLK_TCK)
echo "$label $mode rps=$rps requests=$reqs cpu_us_per_request=$(echo "scale=1; ($t1-$t0)*1000000/$tck/$reqs" | bc) non2xx=${non2xx:-0}"
kill -INT "$nodepid" 2>/dev/null; sleep 2; kill "$gpid" "$upid" 2>/dev/null; wait 2>/dev/null
