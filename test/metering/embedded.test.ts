import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';
import { countFilesAnswered, keyedFilesConfig, waitUntilFilesAnswered } from './keyed-files-api.js';

const TOKEN = 'embedded-metering-token-0123456789';
const KEY = 'tg_embedded_meter_0123456789abcdefgh';

// `npm start` on embedded PGlite: usage is metered into the same embedded database, SIGTERM
// flushes it (with a flush interval far longer than the test), and it survives a restart.
describe('metering on embedded defaults (PGlite, in-process counters)', () => {
  let dir: string;
  let up: RecordingUpstream;
  let tg: TollgateProcess;
  const env = () => ({ TOLLGATE_DATA: join(dir, 'data'), ADMIN_TOKEN: TOKEN, ADMIN_HOST: '127.0.0.1', LOG_LEVEL: 'warn', USAGE_FLUSH_MS: '60000' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-meter-'));
    up = await startRecordingUpstream('svc');
    tg = await startTollgateProcess({ env: env() });
  });
  afterAll(async () => {
    await tg?.stop();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts every answered request once, flushed by SIGTERM, read back after a restart', async () => {
    const applied = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: keyedFilesConfig(up.url, KEY) });
    expect(applied.status, await applied.clone().text()).toBe(200);
    let ok = await waitUntilFilesAnswered(tg.proxyUrl, KEY);
    ok += await countFilesAnswered(tg.proxyUrl, KEY, 6);
    expect(ok).toBe(7);
    // Nothing flushed yet (60 s interval): SIGTERM must write it.
    expect(await tg.stop()).toBe(0);
    tg = await startTollgateProcess({ env: env() });
    const res = await fetch(`${tg.adminUrl}/usage?consumer=acme&granularity=month`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { totals: { requests: number; billableRequests: number } };
    expect(body.totals.billableRequests).toBe(7);
    expect(body.totals.requests).toBeGreaterThanOrEqual(7);

    // METERING=false: requests are served, nothing is metered.
    expect(await tg.stop()).toBe(0);
    tg = await startTollgateProcess({ env: { ...env(), METERING: 'false', USAGE_FLUSH_MS: '100' } });
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${tg.proxyUrl}/files/off-${i}`, { headers: { apikey: KEY } });
      await r.arrayBuffer();
      expect(r.status).toBe(200);
    }
    expect(await tg.stop()).toBe(0);
    tg = await startTollgateProcess({ env: env() });
    const after = await fetch(`${tg.adminUrl}/usage?consumer=acme&granularity=month`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await after.json()) as { totals: { billableRequests: number } }).totals.billableRequests).toBe(7);
  }, 120_000);
});
