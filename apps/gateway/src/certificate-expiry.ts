import { X509Certificate } from 'node:crypto';
import type { CompiledCertificate } from '@tollgate/compiler';
import { outboxEvent, type OutboxEvent } from '@tollgate/model';

/** The leaf of a served certificate: when it stops being valid, and its SHA-256 fingerprint. */
export interface CertificateExpiry {
  readonly name: string;
  /** `notAfter` in ms since the epoch. */
  readonly notAfter: number;
  readonly fingerprint: string;
}

/** Days before `notAfter` at which `certificate.expiring` is raised (once each per certificate). */
export const EXPIRY_WARNING_DAYS: readonly number[] = [30, 14, 7, 1];

const DAY_MS = 86_400_000;
const parsed = new Map<string, CertificateExpiry | null>();

/**
 * The expiry of each certificate's leaf (the first PEM block). Parsed once per distinct PEM (a
 * snapshot install re-reads the same text), so scrapes and checks never parse X.509 again.
 */
export function certificateExpiries(certificates: readonly CompiledCertificate[]): CertificateExpiry[] {
  const out: CertificateExpiry[] = [];
  for (const c of certificates) {
    const key = `${c.name}\n${c.certificate}`;
    let e = parsed.get(key);
    if (e === undefined) {
      try {
        const x = new X509Certificate(c.certificate);
        e = { name: c.name, notAfter: Date.parse(x.validTo), fingerprint: x.fingerprint256.replaceAll(':', '').toLowerCase() };
      } catch {
        e = null;
      }
      if (parsed.size > 10_000) parsed.clear();
      parsed.set(key, e);
    }
    if (e !== null) out.push(e);
  }
  return out;
}

/** The warning thresholds (days) a certificate is past at `now`: the smallest one is the event to raise. */
export function crossedWarnings(e: CertificateExpiry, now: number, days: readonly number[] = EXPIRY_WARNING_DAYS): number[] {
  const left = e.notAfter - now;
  return days.filter((d) => left <= d * DAY_MS);
}

/**
 * Raises `certificate.expiring` through `raise` when a served certificate crosses a warning
 * threshold; checked at every snapshot install and hourly. The dedupe key (fingerprint and
 * threshold) makes it one event across nodes and restarts; `#sent` spares the outbox the repeats
 * of this process.
 */
export class CertificateWatch {
  readonly #sent = new Set<string>();

  constructor(private readonly raise: (event: OutboxEvent) => void) {}

  check(certificates: readonly CompiledCertificate[], now = Date.now()): void {
    for (const e of certificateExpiries(certificates)) {
      const crossed = crossedWarnings(e, now);
      if (crossed.length === 0) continue;
      const threshold = Math.min(...crossed);
      const key = `certificate.expiring:${e.fingerprint}:${threshold}`;
      if (this.#sent.has(key)) continue;
      this.#sent.add(key);
      this.raise(outboxEvent('certificate.expiring', { certificate: e.name, notAfter: new Date(e.notAfter).toISOString(), daysLeft: Math.floor((e.notAfter - now) / DAY_MS), thresholdDays: threshold, fingerprint: e.fingerprint }, key));
    }
  }
}
