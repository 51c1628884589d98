import { describe, expect, it } from 'vitest';
import { lastClosedMonth } from '../../apps/cli/src/commands/report-billing.js';
import { runCli } from './cli-harness.js';

describe('tollgate report billing without --month', () => {
  it('asks for the last closed month and says which', async () => {
    const res = await runCli(['report', 'billing', '--format', 'json'], { TOLLGATE_ADMIN_URL: 'http://127.0.0.1:1', TOLLGATE_ADMIN_TOKEN: 'x' });
    expect(res.stderr).toContain(`billing report of ${lastClosedMonth()} (the last closed month; --month chooses another)`);
    expect(res.stderr).toContain('cannot reach the admin API at http://127.0.0.1:1');
    expect(res.stderr).not.toContain('required option');
  });
});
