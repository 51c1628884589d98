import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stream } from '../admin/harness.js';
import { runCli, startListeningAdmin, type ListeningAdmin } from './cli-harness.js';

/** Subscription dates in the plan's time zone, through apply (the store resolves, apply warns). */
describe('subscription start in the plan time zone', () => {
  let admin: ListeningAdmin;
  let dir: string;
  const consumer = 'apiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: acme }\nspec: {}\n';
  const plan = 'apiVersion: tollgate.dev/v1\nkind: Plan\nmetadata: { name: pro }\nspec:\n  billing: { currency: EUR, timeZone: Europe/Berlin, baseFee: 4900 }\n';
  const sub = (start: string, end?: string) => `apiVersion: tollgate.dev/v1\nkind: Subscription\nmetadata: { name: acme-pro }\nspec: { consumer: acme, plan: pro, start: "${start}"${end ? `, end: "${end}"` : ''} }\n`;
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    admin = await startListeningAdmin();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-subdates-'));
  });
  afterAll(async () => {
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a date is midnight in the plan zone, stored as that instant; re-applying the file is unchanged', async () => {
    const f = file('a.yaml', stream(consumer, plan, sub('2026-12-01', '2027-03-01')));
    const first = await runCli(['apply', '-f', f], admin.env);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const exported = (await runCli(['export'], admin.env)).stdout;
    expect(exported).toContain('start: 2026-12-01T00:00:00+01:00');
    expect(exported).toContain('end: 2027-03-01T00:00:00+01:00');
    expect((await runCli(['apply', '-f', f], admin.env)).stdout).toContain('Subscription/acme-pro unchanged');
  });

  it('a timestamp just off a month boundary of the zone is applied with a warning naming the boundary', async () => {
    const f = file('b.yaml', stream(consumer, plan, sub('2026-12-01T00:00:00Z', '2027-02-28T23:00:00Z')));
    const res = await runCli(['apply', '-f', f, '--dry-run'], admin.env);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain("Warning: document 2 Subscription/acme-pro: spec.start: 2026-12-01T00:00:00Z is not the start of a month in Plan/pro's time zone Europe/Berlin (that is 2026-12-01T00:00:00+01:00)");
    expect(res.stderr).toContain('Write the date (2026-12-01)');
    // 2027-02-28T23:00:00Z is midnight of March 1 in Berlin: no warning for end.
    expect(res.stderr).not.toContain('spec.end');
    // The stored plan's zone is used when the file has only the subscription.
    const alone = await runCli(['apply', '-f', file('c.yaml', sub('2026-12-31T23:30:00Z')), '--dry-run'], admin.env);
    expect(alone.stderr).toContain('spec.start: 2026-12-31T23:30:00Z is not the start of a month');
  });
});
