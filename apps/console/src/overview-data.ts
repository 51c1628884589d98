import { call } from './api.js';

/** A gateway node from `GET /nodes`. */
export interface GatewayNode {
  nodeId: string;
  hostname: string;
  pid: number;
  version: string;
  configVersion: number | null;
  lastSeenAt: string;
  status: 'up' | 'stale' | 'stopped';
  inSync: boolean;
}

export interface NodesPage {
  configVersion: number;
  items: GatewayNode[];
}

/** One hourly bucket of `GET /analytics/requests`. */
export interface TrafficBucket {
  bucket: string;
  requests: number;
  errorRate: number;
  serverErrorRate: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number };
}

export const listNodes = () => call<NodesPage>('GET', '/nodes?limit=100');

const HOUR_MS = 3_600_000;

/** Hourly traffic totals from the start of the hour 23 hours ago until now (24 buckets at most). */
export async function trafficByHour(now = Date.now()): Promise<TrafficBucket[]> {
  const from = new Date(Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS).toISOString();
  const query = new URLSearchParams({ from, to: new Date(now).toISOString(), granularity: 'hour' });
  return (await call<{ items: TrafficBucket[] }>('GET', `/analytics/requests?${query.toString()}`)).items;
}

/** Figures of the last hour (the current and the previous hourly rollup, so 60 to 120 minutes). */
export interface RecentTraffic {
  since: Date;
  requests: number;
  requestsPerSecond: number;
  errorRate: number;
  p50: number;
  p99: number;
}

/**
 * Sums the buckets of the current and the previous hour. Rollups are hourly, so "the last hour"
 * is read as "since the start of the previous hour"; the rate divides by the seconds since then.
 * Percentiles of two buckets are combined weighted by requests (an approximation, stated in the UI).
 */
export function recentTraffic(buckets: readonly TrafficBucket[], now = Date.now()): RecentTraffic {
  const since = new Date(Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS);
  const recent = buckets.filter((b) => Date.parse(b.bucket) >= since.getTime());
  const requests = recent.reduce((n, b) => n + b.requests, 0);
  const weighted = (f: (b: TrafficBucket) => number) => (requests === 0 ? 0 : recent.reduce((n, b) => n + f(b) * b.requests, 0) / requests);
  return {
    since,
    requests,
    requestsPerSecond: requests / Math.max(1, (now - since.getTime()) / 1000),
    errorRate: weighted((b) => b.errorRate),
    p50: weighted((b) => b.latencyMs.p50),
    p99: recent.reduce((m, b) => Math.max(m, b.latencyMs.p99), 0),
  };
}
