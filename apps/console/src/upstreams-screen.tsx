import { useLoad } from './load-state.js';
import { LoadView } from './load-view.js';
import { allUpstreams, upstreamHealth, type TargetHealth, type UpstreamDocument, type UpstreamHealth } from './upstream-health.js';

const STATUS_TEXT = { healthy: 'healthy', degraded: 'degraded', unhealthy: 'unhealthy', unknown: 'no report' } as const;

/** The Upstreams screen: each upstream's targets with their live health and circuit state, refreshed every 5 s. */
export function UpstreamsScreen() {
  const [config, reloadConfig] = useLoad(allUpstreams, []);
  const [health, reloadHealth] = useLoad(upstreamHealth, [], 5_000);
  return (
    <section aria-labelledby="upstreams-title">
      <div class="page-head">
        <h1 id="upstreams-title">Upstreams</h1>
        {config.kind === 'loaded' && <span class="count">{config.data.length} total</span>}
        {health.kind === 'loaded' && health.data.reportedAt !== null && <span class="count">health as of {new Date(health.data.reportedAt).toLocaleTimeString('en-GB')}</span>}
      </div>
      <LoadView state={config} what="upstreams" retry={reloadConfig}>
        {(upstreams) =>
          upstreams.length === 0 ? (
            <div class="state">
              <h2>No upstreams yet</h2>
              <p class="muted">Upstreams come with an applied configuration or an import.</p>
            </div>
          ) : (
            <>
              {health.kind === 'error' && (
                <div class="state state-error" role="alert">
                  <p>Live health could not be loaded: {health.message}</p>
                  <button type="button" class="secondary" onClick={reloadHealth}>
                    Try again
                  </button>
                </div>
              )}
              {upstreams.map((u) => (
                <UpstreamCard key={u.metadata.name} upstream={u} health={health.kind === 'loaded' ? health.data : undefined} />
              ))}
            </>
          )
        }
      </LoadView>
    </section>
  );
}

function UpstreamCard({ upstream, health }: { upstream: UpstreamDocument; health: UpstreamHealth | undefined }) {
  const name = upstream.metadata.name;
  const byTarget = new Map<string, TargetHealth>();
  for (const t of health?.items ?? []) if (t.upstream === name) byTarget.set(t.target, t);
  const lb = upstream.spec.loadBalancing ?? 'round-robin';
  // With DNS / SRV discovery the nodes report the addresses they resolved, not the configured name.
  const configured = new Set(upstream.spec.targets.map((t) => originOf(t.url)));
  const discovered = [...byTarget.values()].filter((h) => !configured.has(h.target));
  return (
    <div class="card table-card upstream">
      <header class="upstream-head">
        <h2>{name}</h2>
        <span class="muted">
          {lb} · active checks {upstream.spec.healthChecks?.active ? 'on' : 'off'} · outlier ejection {upstream.spec.healthChecks?.passive ? 'on' : 'off'}
        </span>
      </header>
      <table>
        <caption class="visually-hidden">Targets of {name}</caption>
        <thead>
          <tr>
            <th scope="col">Target</th>
            <th scope="col">Weight</th>
            <th scope="col">Health</th>
            <th scope="col">Circuit</th>
            <th scope="col" class="num">
              In flight
            </th>
            <th scope="col">Per node</th>
          </tr>
        </thead>
        <tbody>
          {upstream.spec.targets.map((t) => {
            const h = byTarget.get(originOf(t.url));
            const status = h?.status ?? 'unknown';
            return (
              <tr key={t.url}>
                <td>
                  <code>{t.url}</code>
                </td>
                <td>{t.weight ?? 100}</td>
                <td>
                  <span class={`badge badge-${status}`}>{STATUS_TEXT[status]}</span>
                </td>
                <td>{h ? <span class={`badge badge-circuit-${h.circuit}`}>{h.circuit}</span> : <span class="muted">–</span>}</td>
                <td class="num">{h ? h.nodes.reduce((n, v) => n + v.inflight, 0) : '–'}</td>
                <td>
                  {h ? <NodeViews health={h} /> : <span class="muted">no gateway node reports this target</span>}
                </td>
              </tr>
            );
          })}
          {discovered.map((h) => (
            <tr key={h.target}>
              <td>
                <code>{h.target}</code>
                <span class="desc">found by DNS discovery</span>
              </td>
              <td>–</td>
              <td>
                <span class={`badge badge-${h.status}`}>{STATUS_TEXT[h.status]}</span>
              </td>
              <td>
                <span class={`badge badge-circuit-${h.circuit}`}>{h.circuit}</span>
              </td>
              <td class="num">{h.nodes.reduce((n, v) => n + v.inflight, 0)}</td>
              <td>
                <NodeViews health={h} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** What each gateway node reports about one target. */
function NodeViews({ health }: { health: TargetHealth }) {
  return (
    <>
      {health.nodes.map((v) => (
        <span class="desc" key={v.nodeId}>
          {v.nodeId}: {v.activeHealthy ? 'serving' : 'failing active checks'}
          {v.ejectedUntil !== null ? `, ejected until ${new Date(v.ejectedUntil).toLocaleTimeString('en-GB')}` : ''}
          {v.consecutiveErrors > 0 ? `, ${v.consecutiveErrors} errors in a row` : ''} · {v.inflight} of {v.maxInflight} in flight
        </span>
      ))}
    </>
  );
}

/** The origin a gateway reports for a target URL (`http://host:port`, default ports dropped as URL does). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
