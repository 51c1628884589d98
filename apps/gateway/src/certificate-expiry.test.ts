import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OutboxEvent } from '@tollgate/model';
import { CertificateWatch, certificateExpiries, crossedWarnings } from './certificate-expiry.js';

/** A self-signed certificate valid for `days` days (openssl, as an operator would make one). */
function selfSigned(days: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', String(days), '-subj', '/CN=expiry.test'], { stdio: 'ignore' });
  return readFileSync(join(dir, 'c.pem'), 'utf8');
}

const compiled = (name: string, certificate: string) => ({ name, certificate, privateKey: '', hosts: ['expiry.test'], isDefault: false, clientAuth: null });

describe('certificate expiry', () => {
  it('reads notAfter of the leaf and raises one event per threshold', () => {
    const pem = selfSigned(10);
    const [e] = certificateExpiries([compiled('site', pem)]);
    expect(e).toBeDefined();
    const left = (e!.notAfter - Date.now()) / 86_400_000;
    expect(left).toBeGreaterThan(9.9);
    expect(left).toBeLessThanOrEqual(10);
    expect(crossedWarnings(e!, Date.now())).toEqual([30, 14]);
    const raised: OutboxEvent[] = [];
    const watch = new CertificateWatch((ev) => raised.push(ev));
    watch.check([compiled('site', pem)]);
    watch.check([compiled('site', pem)]);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ type: 'certificate.expiring', data: { certificate: 'site', thresholdDays: 14, daysLeft: 9 }, dedupeKey: `certificate.expiring:${e!.fingerprint}:14` });
    // Three days later the 7-day threshold is crossed: a new event.
    watch.check([compiled('site', pem)], Date.now() + 3.5 * 86_400_000);
    expect(raised.map((r) => (r.data as { thresholdDays: number }).thresholdDays)).toEqual([14, 7]);
    expect(certificateExpiries([compiled('far', selfSigned(400))]).map((x) => crossedWarnings(x, Date.now()))).toEqual([[]]);
  });
});
