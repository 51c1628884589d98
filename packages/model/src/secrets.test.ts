import { describe, expect, it } from 'vitest';
import { hasRedactedSecret, REDACTED_SECRET, redactSecrets, restoreSecrets } from './secrets.js';

const upstream = { kind: 'Upstream', spec: { targets: [], tls: { clientCertificate: 'CERT', clientKey: 'KEY', insecureSkipVerify: false } } };

describe('secrets', () => {
  it('redacts the secret fields of a kind and nothing else', () => {
    const r = redactSecrets(upstream);
    expect(r.spec.tls).toEqual({ clientCertificate: 'CERT', clientKey: REDACTED_SECRET, insecureSkipVerify: false });
    expect(upstream.spec.tls.clientKey).toBe('KEY');
    expect(redactSecrets({ kind: 'Upstream', spec: { targets: [] } })).toEqual({ kind: 'Upstream', spec: { targets: [] } });
    expect(redactSecrets({ kind: 'Api', spec: { privateKey: 'x' } }).spec).toEqual({ privateKey: 'x' });
  });

  it('restores markers from the stored resource, and leaves real values alone', () => {
    const submitted = redactSecrets(upstream);
    expect(hasRedactedSecret(submitted)).toBe(true);
    expect(restoreSecrets(submitted, upstream)).toEqual(upstream);
    expect(restoreSecrets(upstream, { kind: 'Upstream', spec: { tls: { clientKey: 'OLD' } } })).toEqual(upstream);
    expect(restoreSecrets(submitted, undefined)).toEqual(submitted);
  });
});
