import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { buildAdmin, compilerValidator, hashToken } from '@tollgate/admin';
import { createPgliteStores, type SqlStores } from '@tollgate/stores';
import type { FastifyInstance } from 'fastify';

/** The built CLI: black-box tests run what users run, not the source. */
export const CLI = fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url));

/** Result of one CLI run. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with a minimal environment (nothing inherited but PATH). */
export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** An admin API listening on a random port over in-memory PGlite, with an admin and a viewer token. */
export interface ListeningAdmin {
  url: string;
  app: FastifyInstance;
  stores: SqlStores;
  token: string;
  viewerToken: string;
  /** Environment pointing the CLI at this server with the admin token. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the admin API in-process (buildAdmin + listen on port 0). */
export async function startListeningAdmin(): Promise<ListeningAdmin> {
  const stores = await createPgliteStores();
  const token = 'tgadm_cli_test_admin_token_0001';
  const viewerToken = 'tgadm_cli_test_viewer_token_001';
  await stores.tokens.insert({ id: 'atk_cli', name: 'cli', role: 'admin', hash: hashToken(token) });
  await stores.tokens.insert({ id: 'atk_view', name: 'viewer', role: 'viewer', hash: hashToken(viewerToken) });
  const app = await buildAdmin({ config: stores.config, tokens: stores.tokens, apiKeys: stores.apiKeys, oauthClients: stores.oauthClients, audit: stores.audit, validate: compilerValidator });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    app,
    stores,
    token,
    viewerToken,
    env: { TOLLGATE_ADMIN_URL: url, TOLLGATE_ADMIN_TOKEN: token },
    async close() {
      await app.close();
      await stores.close();
    },
  };
}
