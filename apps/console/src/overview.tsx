import { useMemo } from 'preact/hooks';
import { useLoad } from './load-state.js';
import { LoadView } from './load-view.js';
import { listNodes, recentTraffic, trafficByHour, type GatewayNode, type TrafficBucket } from './overview-data.js';
import { TimeChart } from './time-chart.js';
import { UpstreamHealthSummary } from './upstream-health-summary.js';

/** Refresh of the live figures (nodes heartbeat every few seconds; rollups flush every second). */
const REFRESH_MS = 10_000;

/** The Overview screen: gateway nodes, traffic of the last hour and day, upstream target health. */
export function Overview() {
  const [nodes, reloadNodes] = useLoad(listNodes, [], REFRESH_MS);
  const [traffic, reloadTraffic] = useLoad(() => trafficByHour(), [], REFRESH_MS);
  return (
    <section aria-labelledby="overview-title">
      <div class="page-head">
        <h1 id="overview-title">Overview</h1>
        <span class="count">refreshes every {REFRESH_MS / 1000} s</span>
      </div>
      <h2 class="section-title">Traffic</h2>
      <LoadView state={traffic} what="traffic figures" retry={reloadTraffic}>
        {(buckets) => <Traffic buckets={buckets} />}
      </LoadView>
      <h2 class="section-title">Gateway nodes</h2>
      <LoadView state={nodes} what="gateway nodes" retry={reloadNodes}>
        {(page) => <Nodes configVersion={page.configVersion} items={page.items} />}
      </LoadView>
      <h2 class="section-title">Upstream targets</h2>
      <UpstreamHealthSummary />
    </section>
  );
}

function Traffic({ buckets }: { buckets: TrafficBucket[] }) {
  const recent = recentTraffic(buckets);
  const hour = recent.since.toISOString().slice(11, 16);
  const chart = useMemo(() => {
    const times = buckets.map((b) => Date.parse(b.bucket) / 1000);
    const now = Math.floor(Date.now() / 1000);
    return {
      range: [now - 24 * 3600, now] as [number, number],
      times,
      volume: [{ label: 'Requests', values: buckets.map((b) => b.requests), color: '#1f4fd8' }],
      latency: [
        { label: 'p50', values: buckets.map((b) => b.latencyMs.p50), color: '#067647', unit: 'ms' },
        { label: 'p99', values: buckets.map((b) => b.latencyMs.p99), color: '#b54708', unit: 'ms' },
      ],
    };
  }, [buckets]);
  return (
    <>
      <div class="tiles" role="group" aria-label={`Traffic since ${hour} UTC`}>
        <Tile label="Requests / s" value={rate(recent.requestsPerSecond)} note={`${recent.requests.toLocaleString('en')} requests since ${hour} UTC`} />
        <Tile label="Error rate" value={`${(recent.errorRate * 100).toFixed(1)} %`} note="4xx and 5xx answers" tone={recent.errorRate > 0.05 ? 'bad' : 'ok'} />
        <Tile label="Latency p50" value={`${recent.p50.toFixed(0)} ms`} note="total, gateway + upstream" />
        <Tile label="Latency p99" value={`${recent.p99.toFixed(0)} ms`} note="highest hourly p99" />
      </div>
      {buckets.length === 0 ? (
        <div class="state">
          <h3>No traffic yet</h3>
          <p class="muted">Requests proxied by the gateway are counted here within a few seconds.</p>
        </div>
      ) : (
        <div class="chart-grid">
          <div class="card chart-card">
            <h3>Requests per hour</h3>
            <TimeChart title="Requests per hour, last 24 hours" times={chart.times} series={chart.volume} range={chart.range} />
          </div>
          <div class="card chart-card">
            <h3>Latency per hour</h3>
            <TimeChart title="Latency p50 and p99 per hour, last 24 hours" times={chart.times} series={chart.latency} range={chart.range} />
          </div>
        </div>
      )}
    </>
  );
}

/** Requests per second for a tile: a little traffic still shows as traffic. */
function rate(perSecond: number): string {
  if (perSecond === 0) return '0';
  if (perSecond < 0.01) return '< 0.01';
  return perSecond.toFixed(perSecond < 10 ? 2 : 0);
}

function Tile({ label, value, note, tone }: { label: string; value: string; note: string; tone?: 'ok' | 'bad' }) {
  return (
    <div class={`card tile${tone ? ` tile-${tone}` : ''}`}>
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
      <span class="tile-note">{note}</span>
    </div>
  );
}

function Nodes({ configVersion, items }: { configVersion: number; items: GatewayNode[] }) {
  if (items.length === 0)
    return (
      <div class="state">
        <h3>No gateway node has reported yet</h3>
        <p class="muted">
          Start one with <code>tollgate start gateway</code>; it appears here after its first heartbeat.
        </p>
      </div>
    );
  return (
    <div class="card table-card">
      <table>
        <caption class="visually-hidden">Gateway nodes; current configuration version {configVersion}</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Status</th>
            <th scope="col">Config version</th>
            <th scope="col">Tollgate</th>
            <th scope="col">Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {items.map((n) => (
            <tr key={n.nodeId}>
              <td>
                <span class="name">{n.hostname}</span>
                <span class="desc">
                  {n.nodeId} · pid {n.pid}
                </span>
              </td>
              <td>
                <span class={`badge badge-${n.status}`}>{n.status}</span>
              </td>
              <td>
                {n.configVersion ?? '–'} {n.status !== 'stopped' && (n.inSync ? <span class="badge badge-in-sync">in sync</span> : <span class="badge badge-behind">behind v{configVersion}</span>)}
              </td>
              <td>{n.version}</td>
              <td>
                <time dateTime={n.lastSeenAt}>{new Date(n.lastSeenAt).toLocaleTimeString('en-GB')}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
