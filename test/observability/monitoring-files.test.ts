import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../apps/gateway/src/metrics.js';

/**
 * The shipped monitoring files: deploy/prometheus/tollgate-rules.yml must load and pass its rule
 * unit tests in promtool (Debian's `prometheus` package; .ci/run installs it), and every metric
 * the rules and the Grafana dashboard query must be one the gateway really exports.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const RULES = `${root}deploy/prometheus/tollgate-rules.yml`;
const RULE_TESTS = `${root}deploy/prometheus/tollgate-rules.test.yml`;
const DASHBOARD = `${root}deploy/grafana/tollgate-gateways.json`;

function promtool(): string {
  const candidates = [process.env.PROMTOOL, '/usr/bin/promtool', '/usr/local/bin/promtool'].filter((p): p is string => p !== undefined && p !== '');
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error('promtool not found: install Debian\'s "prometheus" package (apt-get install prometheus) or set PROMTOOL');
  return found;
}

function run(args: string[]): string {
  try {
    return execFileSync(promtool(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Metric names (not recording-rule names, which hold a colon) an expression or text mentions. */
function metricNames(text: string): Set<string> {
  return new Set(text.match(/(?<![:\w])(?:tollgate|process|nodejs)_[A-Za-z0-9_]+(?![:\w])/g) ?? []);
}

async function exportedNames(): Promise<Set<string>> {
  const m = new GatewayMetrics();
  m.watchUsage({ flushLagSeconds: () => 0, backlogRequests: () => 0, flushFailures: () => ({ postgres: 0, redis: 0 }) });
  const out = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    // A histogram's family name (in prose) and its three series names (in queries).
    out.add(metric.name);
    if (metric.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(`${metric.name}${s}`);
  }
  return out;
}

describe('Prometheus alerting rules', () => {
  it('pass promtool check rules', () => {
    expect(run(['check', 'rules', RULES])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests', () => {
    expect(run(['test', 'rules', RULE_TESTS])).toMatch(/SUCCESS/);
  });
});

describe('metric names in the rules and the dashboard', () => {
  it('are all exported by the gateway', async () => {
    const exported = await exportedNames();
    const rules = metricNames(readFileSync(RULES, 'utf8'));
    const dashboard = metricNames(readFileSync(DASHBOARD, 'utf8'));
    expect(rules.size).toBeGreaterThan(8);
    expect(dashboard.size).toBeGreaterThan(10);
    for (const name of [...rules, ...dashboard]) expect(exported.has(name), `${name} is not exported by apps/gateway/src/metrics.ts`).toBe(true);
  });

  it('the dashboard is valid JSON with unique panel ids and a Prometheus query in every panel', () => {
    const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Array<{ id: number; targets: Array<{ expr: string }> }> };
    expect(d.uid).toBe('tollgate-gateways');
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    for (const p of d.panels) expect(p.targets.length).toBeGreaterThan(0);
  });
});
