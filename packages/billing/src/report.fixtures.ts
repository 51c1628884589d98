/**
 * A known month of usage and the configuration that prices it, shared by the report's unit,
 * database and black-box tests. Expected amounts are worked out by hand in the comments.
 */
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import type { SourceRow } from './report.js';

export const FIXTURE_MONTH = '2026-11';

/** Display name with a comma, quotes and a newline: CSV must quote it, HTML escape it. */
export const ACME_DISPLAY_NAME = 'Acme, Inc. "Rockets"\nDivision <b>';

export const FIXTURE_YAML = `
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: backend }
spec:
  targets: [{ url: "http://127.0.0.1:9" }]
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata:
  name: acme
  annotations:
    tollgate.dev/display-name: ${JSON.stringify(ACME_DISPLAY_NAME)}
spec:
  customId: "=ACME-1"
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: globex }
spec: { metadata: { displayName: Globex Corporation } }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: initech }
spec: { customId: "INI-7" }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: hooli }
spec: {}
---
apiVersion: tollgate.dev/v1
kind: Plan
metadata: { name: metered }
spec:
  billing:
    currency: EUR
    baseFee: 1000
    includedUnits: 100
    charge: { perUnit: { unitPrice: "0.5" } }
---
apiVersion: tollgate.dev/v1
kind: Plan
metadata: { name: basic }
spec:
  billing:
    currency: EUR
    baseFee: 3000
    includedUnits: 1000
    charge: { perUnit: { unitPrice: "1" } }
---
apiVersion: tollgate.dev/v1
kind: Plan
metadata: { name: tiered }
spec:
  billing:
    currency: USD
    timeZone: Europe/Berlin
    charge:
      graduated:
        tiers:
          - { upTo: 100, unitPrice: "1" }
          - { upTo: null, unitPrice: "0.5", flatFee: 50 }
---
apiVersion: tollgate.dev/v1
kind: Plan
metadata: { name: bulk }
spec:
  billing:
    currency: EUR
    baseFee: 500
    charge:
      volume:
        tiers:
          - { upTo: 1000, unitPrice: "2" }
          - { upTo: null, unitPrice: "1" }
    metrics:
      compute: { unit: GPU-second, charge: { package: { size: 10, price: 100 } } }
---
apiVersion: tollgate.dev/v1
kind: Plan
metadata: { name: free }
spec: {}
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: weather }
spec:
  basePath: /weather
  routes: [{ name: all, destination: { upstream: backend } }]
---
apiVersion: tollgate.dev/v1
kind: Subscription
metadata: { name: acme-metered }
spec: { consumer: acme, plan: metered, start: "2026-01-01T00:00:00Z" }
---
apiVersion: tollgate.dev/v1
kind: Subscription
metadata: { name: globex-tiered }
spec: { consumer: globex, plan: tiered, start: "2026-01-01T00:00:00Z" }
---
apiVersion: tollgate.dev/v1
kind: Subscription
metadata: { name: initech-basic }
spec: { consumer: initech, plan: basic, start: "2026-01-01T00:00:00Z", end: "2026-11-11T00:00:00Z" }
---
apiVersion: tollgate.dev/v1
kind: Subscription
metadata: { name: initech-metered }
spec: { consumer: initech, plan: metered, start: "2026-11-11T00:00:00Z" }
---
apiVersion: tollgate.dev/v1
kind: Subscription
metadata: { name: hooli-bulk }
spec: { consumer: hooli, plan: bulk, start: "2026-11-01T00:00:00Z" }
`;

export function fixtureResources(): Resource[] {
  const parsed = parseResourcesYaml(FIXTURE_YAML);
  if (!parsed.ok) throw new Error(`fixture does not parse: ${JSON.stringify(parsed.issues)}`);
  return parsed.resources;
}

/** A rollup row with defaults; `period` and `billable` are what the table also stores. */
export interface FixtureRow extends SourceRow {
  period: string;
  billable: boolean;
}

function row(p: Partial<FixtureRow> & Pick<FixtureRow, 'hour' | 'consumer' | 'plan' | 'api' | 'units'>): FixtureRow {
  return {
    period: FIXTURE_MONTH,
    billable: true,
    subscription: '',
    apiVersion: '',
    route: 'all',
    statusClass: '2xx',
    source: 'upstream',
    metric: 'requests',
    requests: p.units,
    ...p,
  };
}

const h = (iso: string) => new Date(iso);

/** Rollup rows, including some the November report must ignore (other month, not billable). */
export function fixtureRows(): FixtureRow[] {
  return [
    // acme on metered (EUR, UTC): 100 included over maps (60, first by name) then weather (40 of 151).
    row({ hour: h('2026-11-02T10:00:00Z'), consumer: 'acme', subscription: 'acme-metered', plan: 'metered', api: 'weather', units: 100 }),
    row({ hour: h('2026-11-30T23:00:00Z'), consumer: 'acme', subscription: 'acme-metered', plan: 'metered', api: 'weather', units: 51 }), // 23:59:59.900 UTC lands in this hour
    row({ hour: h('2026-11-05T08:00:00Z'), consumer: 'acme', subscription: 'acme-metered', plan: 'metered', api: 'maps', units: 60 }),
    row({ hour: h('2026-11-05T08:00:00Z'), consumer: 'acme', subscription: 'acme-metered', plan: 'metered', api: 'maps', units: 9, statusClass: '5xx', billable: false }),
    row({ hour: h('2026-12-01T00:00:00Z'), consumer: 'acme', subscription: 'acme-metered', plan: 'metered', api: 'maps', units: 1000, period: '2026-12' }),
    // globex on tiered (USD, Europe/Berlin): November is [2026-10-31T23:00Z, 2026-11-30T23:00Z).
    row({ hour: h('2026-10-31T23:00:00Z'), consumer: 'globex', subscription: 'globex-tiered', plan: 'tiered', api: 'search', units: 200 }),
    row({ hour: h('2026-11-30T22:00:00Z'), consumer: 'globex', subscription: 'globex-tiered', plan: 'tiered', api: 'search', units: 50 }), // 23:59:59.900 Berlin
    row({ hour: h('2026-11-30T23:00:00Z'), consumer: 'globex', subscription: 'globex-tiered', plan: 'tiered', api: 'search', units: 999, period: '2026-12' }), // 00:00 Berlin on 1 Dec
    row({ hour: h('2026-10-31T22:00:00Z'), consumer: 'globex', subscription: 'globex-tiered', plan: 'tiered', api: 'search', units: 999, period: '2026-10' }),
    // initech: basic for 10 days, then metered for 20 (plan change on 11 Nov).
    row({ hour: h('2026-11-03T12:00:00Z'), consumer: 'initech', subscription: 'initech-basic', plan: 'basic', api: 'weather', units: 400 }),
    row({ hour: h('2026-11-20T12:00:00Z'), consumer: 'initech', subscription: 'initech-metered', plan: 'metered', api: 'weather', units: 500 }),
    // hooli on bulk: volume over two APIs (1200 requests: all at tier 2), and a package-priced metric.
    row({ hour: h('2026-11-10T00:00:00Z'), consumer: 'hooli', subscription: 'hooli-bulk', plan: 'bulk', api: 'a', units: 700 }),
    row({ hour: h('2026-11-10T00:00:00Z'), consumer: 'hooli', subscription: 'hooli-bulk', plan: 'bulk', api: 'b', units: 500, apiVersion: 'v2' }),
    row({ hour: h('2026-11-10T00:00:00Z'), consumer: 'hooli', subscription: 'hooli-bulk', plan: 'bulk', api: 'a', route: 'train', units: 25, requests: 5, metric: 'compute' }),
    // no subscription, and a plan without billing: not priced.
    row({ hour: h('2026-11-10T00:00:00Z'), consumer: 'nobody', plan: '', api: 'weather', units: 7 }),
    row({ hour: h('2026-11-10T00:00:00Z'), consumer: 'hooli', plan: 'free', api: 'weather', units: 3 }),
  ];
}

/** The rows the November report reads: billable ones of the period. */
export function novemberRows(): SourceRow[] {
  return fixtureRows()
    .filter((r) => r.period === FIXTURE_MONTH && r.billable)
    .map(({ period: _p, billable: _b, ...r }) => r);
}

/** Expected totals per consumer (minor units), worked out by hand. */
export const EXPECTED_TOTALS = [
  // base 1000 + weather 111 × 0.5 = 55.5 → 56
  { consumer: 'acme', currency: 'EUR', amount: 1056 },
  // 100 × 1 + 150 × 0.5 + flat 50 = 225
  { consumer: 'globex', currency: 'USD', amount: 225 },
  // 500 base + 700 × 1 + 500 × 1 (volume tier 2) + 3 packages × 100
  { consumer: 'hooli', currency: 'EUR', amount: 2000 },
  // basic: 3000 × 10/30 = 1000, included floor(1000/3) = 333, 67 × 1 = 67;
  // metered: 1000 × 20/30 = 666.67 → 667, included floor(200/3) = 66, 434 × 0.5 = 217
  { consumer: 'initech', currency: 'EUR', amount: 1951 },
];
