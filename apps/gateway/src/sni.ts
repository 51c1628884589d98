import { createSecureContext, type SecureContext } from 'node:tls';
import type { CompiledCertificate } from '@tollgate/compiler';

/** What the TLS listener knows about one server certificate. */
export interface SniEntry {
  readonly name: string;
  readonly context: SecureContext;
  /** Client certificates: null = not requested; else verified against the certificate's CA. */
  readonly clientAuth: 'required' | 'optional' | null;
}

/** Server certificates of a snapshot, looked up by SNI name. */
export interface SniTable {
  /** Exact names and `*.` patterns, lower case. */
  readonly byHost: ReadonlyMap<string, SniEntry>;
  readonly fallback: SniEntry | null;
  /** True when some certificate verifies client certificates (the listener then asks for one). */
  readonly anyClientAuth: boolean;
  readonly size: number;
}

/**
 * Builds a secure context per certificate at snapshot install (never per handshake). Throws when
 * OpenSSL refuses a certificate or key, so the snapshot is rejected and the previous one serves.
 */
export function buildSniTable(certs: readonly CompiledCertificate[]): SniTable {
  const byHost = new Map<string, SniEntry>();
  let fallback: SniEntry | null = null;
  let anyClientAuth = false;
  for (const c of certs) {
    let context: SecureContext;
    try {
      context = createSecureContext({ cert: c.certificate, key: c.privateKey, ...(c.clientAuth ? { ca: c.clientAuth.ca } : {}) });
    } catch (err) {
      // The OpenSSL message names the failing step, never the key material.
      throw new Error(`Certificate/${c.name} cannot be loaded: ${(err as Error).message}`);
    }
    const entry: SniEntry = { name: c.name, context, clientAuth: c.clientAuth?.mode ?? null };
    if (c.clientAuth) anyClientAuth = true;
    for (const h of c.hosts) byHost.set(h, entry);
    if (c.isDefault) fallback = entry;
  }
  return { byHost, fallback, anyClientAuth, size: certs.length };
}

/**
 * The certificate for an SNI name: exact name first, then the `*.` pattern of its parent
 * (a wildcard covers exactly one label, as certificate wildcards do, RFC 6125 §6.4.3), then the
 * default certificate.
 */
export function lookupSni(table: SniTable, servername: string | undefined): SniEntry | null {
  if (servername !== undefined && servername !== '') {
    const name = servername.toLowerCase();
    const exact = table.byHost.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const wild = table.byHost.get(`*${name.slice(dot)}`);
      if (wild !== undefined) return wild;
    }
  }
  return table.fallback;
}
