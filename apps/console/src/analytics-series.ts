import type { Series } from './ui/chart.js';

/** One item of `GET /analytics/requests`. */
export interface AnalyticsItem {
  bucket: string;
  group: string | null;
  requests: number;
  statusClasses: Record<string, number>;
  latencyMs: { mean: number; p50: number; p90: number; p99: number };
}

/** Lines drawn at most; the rest are summed into "other" (the table lists every group). */
const MAX_LINES = 6;

/** Totals of one group over the whole range. */
export interface GroupRow {
  group: string;
  requests: number;
  errors: number;
  serverErrors: number;
  latencySum: number;
  worstP99: number;
}

const STEP_MS = { hour: 3_600_000, day: 86_400_000 } as const;

/**
 * Turns `GET /analytics/requests` items into chart columns (one per hour or day of the range, zero
 * where nothing was counted) per group, the busiest groups first, and totals per group.
 */
export function seriesByGroup(items: AnalyticsItem[], from: number, to: number, granularity: 'hour' | 'day'): { x: number[]; series: Series[]; rows: GroupRow[] } {
  const step = STEP_MS[granularity];
  const start = Math.floor(from / step) * step;
  const x: number[] = [];
  for (let t = start; t < to; t += step) x.push(t / 1000);
  const index = new Map(x.map((t, i) => [t * 1000, i]));
  const rows = new Map<string, GroupRow>();
  const perGroup = new Map<string, number[]>();
  for (const item of items) {
    const group = item.group ?? 'anonymous';
    const row: GroupRow = rows.get(group) ?? { group, requests: 0, errors: 0, serverErrors: 0, latencySum: 0, worstP99: 0 };
    row.requests += item.requests;
    row.errors += (item.statusClasses['4xx'] ?? 0) + (item.statusClasses['5xx'] ?? 0);
    row.serverErrors += item.statusClasses['5xx'] ?? 0;
    row.latencySum += item.latencyMs.mean * item.requests;
    row.worstP99 = Math.max(row.worstP99, item.latencyMs.p99);
    rows.set(group, row);
    const t = Date.parse(item.bucket.length === 10 ? `${item.bucket}T00:00:00Z` : item.bucket);
    const i = index.get(t);
    if (i === undefined) continue;
    const values = perGroup.get(group) ?? new Array<number>(x.length).fill(0);
    values[i] = (values[i] ?? 0) + item.requests;
    perGroup.set(group, values);
  }
  const sorted = [...rows.values()].sort((a, b) => b.requests - a.requests);
  const shown = sorted.slice(0, MAX_LINES).map((r) => r.group);
  const series: Series[] = shown.map((g) => ({ label: g, values: perGroup.get(g) ?? [] }));
  if (sorted.length > MAX_LINES) {
    const other = new Array<number>(x.length).fill(0);
    for (const r of sorted.slice(MAX_LINES)) (perGroup.get(r.group) ?? []).forEach((v, i) => (other[i] = (other[i] ?? 0) + v));
    series.push({ label: 'other', values: other });
  }
  return { x, series, rows: sorted };
}

