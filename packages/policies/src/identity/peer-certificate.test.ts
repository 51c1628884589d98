import { describe, expect, it } from 'vitest';
import { parseSubjectAltName } from './peer-certificate.js';

describe('parseSubjectAltName', () => {
  it("reads Node's subjectAltName text into typed entries, IP addresses as IP:", () => {
    expect(parseSubjectAltName('DNS:a.test, URI:spiffe://acme/ns/x, IP Address:10.0.0.1, email:ops@acme.test')).toEqual(['DNS:a.test', 'URI:spiffe://acme/ns/x', 'IP:10.0.0.1', 'email:ops@acme.test']);
  });

  it('keeps a quoted value with a comma as one entry (no injected second entry)', () => {
    expect(parseSubjectAltName('DNS:a.test, URI:"spiffe://x/a, DNS:evil.test"')).toEqual(['DNS:a.test', 'URI:spiffe://x/a, DNS:evil.test']);
  });

  it('no extension: no entries', () => {
    expect(parseSubjectAltName(undefined)).toEqual([]);
    expect(parseSubjectAltName('')).toEqual([]);
  });
});
