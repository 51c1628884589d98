import { describe, expect, it } from 'vitest';
import { parseResourcesYaml } from '@tollgate/model';

/** The Plan `billing` block as an operator writes it: what is accepted, and where a mistake is reported. */
function plan(billing: string) {
  return parseResourcesYaml(`apiVersion: tollgate.dev/v1\nkind: Plan\nmetadata: { name: p }\nspec:\n  billing: ${billing}\n`);
}

function issuePaths(billing: string): string[] {
  const r = plan(billing);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('Plan billing', () => {
  it('accepts every charge model and per-metric overrides, filling defaults', () => {
    const r = plan(`{ currency: JPY, charge: { package: { size: 1000, price: 50 } }, metrics: { gpu_seconds: { unit: GPU-second, includedUnits: 0, charge: { perUnit: { unitPrice: "0.000000001" } } } } }`);
    expect(r.ok).toBe(true);
    if (!r.ok || r.resources[0]?.kind !== 'Plan') return;
    expect(r.resources[0].spec.billing).toMatchObject({ currency: 'JPY', timeZone: 'UTC', baseFee: 0, includedUnits: 0, billable: { statuses: ['2xx', '3xx'], gatewayResponses: false } });
  });

  it('the example plan of docs/billing.md is valid', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../../docs/billing.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n(apiVersion: tollgate\.dev\/v1\nkind: Plan[\s\S]*?)```/.exec(doc)?.[1];
    expect(yaml).toBeDefined();
    const r = parseResourcesYaml(yaml as string);
    expect(r.ok ? [] : r.issues).toEqual([]);
  });

  it('refuses float-like and over-precise prices, bad tiers, currencies, zones and metric names, naming the field', () => {
    expect(issuePaths(`{ currency: EUR, charge: { perUnit: { unitPrice: "0.0000000001" } } }`).join()).toMatch(/spec\.billing\.charge/);
    expect(issuePaths(`{ currency: EUR, charge: { perUnit: { unitPrice: "1e-3" } } }`).join()).toMatch(/spec\.billing\.charge/);
    expect(issuePaths(`{ currency: EUR, charge: { graduated: { tiers: [{ upTo: 10, unitPrice: "1" }, { upTo: 5, unitPrice: "1" }, { upTo: null, unitPrice: "1" }] } } }`).join()).toMatch(/spec\.billing\.charge/);
    expect(issuePaths(`{ currency: EUR, charge: { volume: { tiers: [{ upTo: 10, unitPrice: "1" }] } } }`).join()).toMatch(/spec\.billing\.charge/);
    expect(issuePaths(`{ currency: EURO }`).join()).toMatch(/spec\.billing\.currency/);
    expect(issuePaths(`{ currency: EUR, timeZone: Mars/Olympus }`).join()).toMatch(/spec\.billing\.timeZone/);
    expect(issuePaths(`{ currency: EUR, baseFee: 9.99 }`).join()).toMatch(/spec\.billing\.baseFee/);
    expect(issuePaths(`{ currency: EUR, metrics: { Bad-Metric: { unit: x } } }`).join()).toMatch(/spec\.billing\.metrics/);
    expect(issuePaths(`{ currency: EUR, metrics: { ok: { colour: red } } }`).join()).toMatch(/spec\.billing\.metrics\.ok/);
  });
});
