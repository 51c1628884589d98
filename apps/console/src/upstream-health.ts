import { call } from './api.js';

/** One node's view of a target (`GET /upstream-health`). */
export interface TargetNodeView {
  nodeId: string;
  activeHealthy: boolean;
  ejectedUntil: string | null;
  consecutiveErrors: number;
  inflight: number;
  maxInflight: number;
}

/** A target merged over the up gateway nodes. */
export interface TargetHealth {
  upstream: string;
  target: string;
  status: 'healthy' | 'degraded' | 'unhealthy';
  circuit: 'closed' | 'open';
  nodes: TargetNodeView[];
}

export interface UpstreamHealth {
  reportedAt: string | null;
  nodes: number;
  items: TargetHealth[];
}

export const upstreamHealth = () => call<UpstreamHealth>('GET', '/upstream-health');

/** An Upstream document as the list shows it (`GET /upstreams`). */
export interface UpstreamDocument {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    targets: { url: string; weight?: number }[];
    loadBalancing?: string;
    maxConnectionsPerTarget?: number;
    healthChecks?: { active?: unknown; passive?: unknown };
    circuitBreaker?: unknown;
  };
}

/** Every Upstream, following `next` cursors (an operator's upstreams are tens, not thousands). */
export async function allUpstreams(): Promise<UpstreamDocument[]> {
  const out: UpstreamDocument[] = [];
  let after: string | undefined;
  for (let page = 0; page < 20; page++) {
    const q = new URLSearchParams({ limit: '500', ...(after !== undefined ? { after } : {}) });
    const res = await call<{ items: UpstreamDocument[]; next?: string }>('GET', `/upstreams?${q.toString()}`);
    out.push(...res.items);
    if (res.next === undefined) break;
    after = res.next;
  }
  return out;
}
