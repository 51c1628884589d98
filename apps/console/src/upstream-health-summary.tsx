import { hrefOf } from './hash-route.js';
import { useLoad } from './load-state.js';
import { LoadView } from './load-view.js';
import { upstreamHealth } from './upstream-health.js';

/** The Overview's line on upstream targets: how many are healthy, degraded, unhealthy, circuit open. */
export function UpstreamHealthSummary() {
  const [state, reload] = useLoad(upstreamHealth, [], 10_000);
  return (
    <LoadView state={state} what="upstream health" retry={reload}>
      {(h) => {
        if (h.nodes === 0)
          return (
            <div class="state">
              <h3>No health reported yet</h3>
              <p class="muted">Gateway nodes report their targets' health on every heartbeat.</p>
            </div>
          );
        const count = (f: (t: (typeof h.items)[number]) => boolean) => h.items.filter(f).length;
        return (
          <div class="tiles" role="group" aria-label="Upstream targets">
            <a class="card tile tile-link" href={hrefOf('upstreams')}>
              <span class="tile-label">Healthy targets</span>
              <span class="tile-value">
                {count((t) => t.status === 'healthy')} / {h.items.length}
              </span>
              <span class="tile-note">as {h.nodes === 1 ? '1 gateway node sees' : `${h.nodes} gateway nodes see`} them</span>
            </a>
            <div class={`card tile${count((t) => t.status === 'degraded') > 0 ? ' tile-warn' : ''}`}>
              <span class="tile-label">Degraded</span>
              <span class="tile-value">{count((t) => t.status === 'degraded')}</span>
              <span class="tile-note">unhealthy on some nodes</span>
            </div>
            <div class={`card tile${count((t) => t.status === 'unhealthy') > 0 ? ' tile-bad' : ''}`}>
              <span class="tile-label">Unhealthy</span>
              <span class="tile-value">{count((t) => t.status === 'unhealthy')}</span>
              <span class="tile-note">no node sends them traffic</span>
            </div>
            <div class={`card tile${count((t) => t.circuit === 'open') > 0 ? ' tile-bad' : ''}`}>
              <span class="tile-label">Circuit open</span>
              <span class="tile-value">{count((t) => t.circuit === 'open')}</span>
              <span class="tile-note">at the in-flight limit</span>
            </div>
          </div>
        );
      }}
    </LoadView>
  );
}
