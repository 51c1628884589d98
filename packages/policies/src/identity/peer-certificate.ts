import type { TLSSocket } from 'node:tls';
import type { CertificateFacts } from './consumer-credentials.js';

export type { CertificateFacts };

/** Facts of each connection's verified client certificate, worked out once per connection (keep-alive reuses them). */
const perSocket = new WeakMap<TLSSocket, CertificateFacts | null>();

/**
 * The verified client certificate of a TLS connection as the mtls-auth policy matches it, or null
 * when the client sent none or it did not chain to the CA configured for the host (`authorized`
 * false): an unverified certificate proves nothing and never identifies anyone.
 */
export function certificateFacts(socket: TLSSocket): CertificateFacts | null {
  const cached = perSocket.get(socket);
  if (cached !== undefined) return cached;
  let facts: CertificateFacts | null = null;
  if (socket.authorized) {
    const cert = socket.getPeerX509Certificate();
    if (cert !== undefined) facts = Object.freeze({ fingerprint: cert.fingerprint256.replace(/:/g, '').toLowerCase(), subject: cert.subject.split('\n').join(','), sans: Object.freeze(parseSubjectAltName(cert.subjectAltName)) });
  }
  perSocket.set(socket, facts);
  return facts;
}

/**
 * Node's subjectAltName text (`DNS:a.test, URI:spiffe://x, IP Address:10.0.0.1`) as entries in
 * the configured form (`IP:` for addresses). Values with a comma are quoted by Node (JSON string
 * syntax since the CVE-2021-44533 fix), so they are split on the top-level separators only.
 */
export function parseSubjectAltName(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  const out: string[] = [];
  const re = /\s*([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/g;
  for (let m = re.exec(text); m !== null && m[0] !== ''; m = re.exec(text)) {
    const type = (m[1] ?? '').trim();
    let value = m[2] ?? '';
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    out.push(`${type === 'IP Address' ? 'IP' : type}:${value}`);
  }
  return out;
}
