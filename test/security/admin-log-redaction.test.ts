import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecurityProcess, TOKEN, type SecurityProcess } from './admin-process.js';

const SECRET = 'tgadm_pasted_into_the_query_0123456789';

// Class 17: the admin's request log never carries query-string values (a token pasted into a
// URL is a classic leak into log storage, RFC 6750 §2.3); parameter names stay for debugging.
describe('admin: the request log redacts query strings', () => {
  let p: SecurityProcess;
  beforeAll(async () => {
    p = await startSecurityProcess();
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  it('logs names, never values, for found, unknown, unauthenticated and malformed requests', async () => {
    await p.admin('GET', `/config?token=${SECRET}&dryRun=1`);
    await p.admin('GET', `/no-such-route?access_token=${encodeURIComponent(SECRET)}`);
    await fetch(`${p.tg.adminUrl}/upstreams?api_key=${SECRET}`);
    await p.admin('GET', `/upstreams/%ZZ?x=${SECRET}`);
    // A value pasted without a name must not survive as a "name" either.
    await p.admin('GET', `/config?${SECRET}`);
    await p.admin('POST', `/config?dryRun=true&sig=${SECRET}`, '[]', 'application/json');
    await new Promise((r) => setTimeout(r, 500)); // pino writes asynchronously
    const out = p.tg.output();
    expect(out).toContain('"msg":"incoming request"');
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(encodeURIComponent(SECRET));
    expect(out).not.toContain(TOKEN);
    expect(out).toContain('/config?token=[REDACTED]&dryRun=[REDACTED]');
    expect(out).toContain('/no-such-route?access_token=[REDACTED]');
    expect(out).toContain('/upstreams?api_key=[REDACTED]');
    expect(out).toContain('/config?[REDACTED]');
  });
});
