import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM certificate and its key, generated at test time (never committed). */
export interface TestCert {
  cert: string;
  key: string;
}

/** A throwaway certificate authority that signs leaf certificates with openssl. */
export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'tollgate-ca-'));
  readonly ca: TestCert;
  #serial = 1;

  constructor(readonly name = 'Tollgate Test CA') {
    const key = join(this.dir, 'ca.key');
    const crt = join(this.dir, 'ca.crt');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', `/CN=${name}`]);
    this.ca = { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
  }

  /** A leaf signed by this CA for DNS names / IPs / typed entries (`subjectAltName` entries). */
  issue(cn: string, sans: string[], usage: 'server' | 'client' = 'server', days = 2): TestCert {
    const n = this.#serial++;
    const key = join(this.dir, `${n}.key`);
    const csr = join(this.dir, `${n}.csr`);
    const crt = join(this.dir, `${n}.crt`);
    const ext = join(this.dir, `${n}.ext`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
    const lines = [`extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}`];
    // An entry with its own type (`URI:spiffe://…`, `email:…`) is used as is.
    if (sans.length > 0) lines.push(`subjectAltName=${sans.map((s) => (/^(URI|email|DNS|IP):/.test(s) ? s : /^[\d.]+$/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(',')}`);
    writeFileSync(ext, `${lines.join('\n')}\n`);
    openssl(['x509', '-req', '-in', csr, '-CA', join(this.dir, 'ca.crt'), '-CAkey', join(this.dir, 'ca.key'), '-set_serial', String(1000 + n), '-out', crt, '-extfile', ext, '-days', String(days)]);
    return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
  }

  /** Removes the temporary directory. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Indents a PEM block for a YAML literal (`|`) at `spaces`. */
export function yamlBlock(pem: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return `|\n${pem.trim().split('\n').map((l) => pad + l).join('\n')}`;
}
