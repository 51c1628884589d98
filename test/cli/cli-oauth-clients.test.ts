import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startListeningAdmin, type ListeningAdmin } from './cli-harness.js';

describe('tollgate oauth-clients', () => {
  let admin: ListeningAdmin;
  beforeAll(async () => {
    admin = await startListeningAdmin();
    const res = await admin.app.inject({
      method: 'PUT',
      url: '/consumers/acme',
      headers: { authorization: `Bearer ${admin.token}` },
      payload: { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name: 'acme' }, spec: { scopes: ['orders:read', 'orders:write'] } },
    });
    expect(res.statusCode).toBe(201);
  });
  afterAll(async () => {
    await admin?.close();
  });

  it('create prints "<client_id> <secret>" once on stdout with a warning on stderr; list never shows the secret; revoke marks it', async () => {
    const created = await runCli(['oauth-clients', 'create', 'acme', '--name', 'ci', '--scope', 'orders:read'], admin.env);
    expect(created.code).toBe(0);
    const [clientId, secret] = created.stdout.trim().split(' ') as [string, string];
    expect(clientId).toMatch(/^ocl_[0-9a-f]+$/);
    expect(secret).toMatch(/^tgcs_/);
    expect(created.stderr).toContain('shown only once');
    expect(created.stderr).toContain('scopes: orders:read');
    const list = await runCli(['oauth-clients', 'list', 'acme'], admin.env);
    expect(list.stdout).toMatch(new RegExp(`^${clientId}\\s+ci\\s+orders:read\\s+\\S+\\s+active$`, 'm'));
    expect(list.stdout).not.toContain(secret);
    expect((await runCli(['oauth-clients', 'revoke', 'acme', clientId], admin.env)).stdout).toBe(`OAuth client ${clientId} of Consumer/acme revoked\n`);
    expect((await runCli(['oauth-clients', 'list', 'acme'], admin.env)).stdout).toMatch(/revoked \d{4}-/);
  });

  it('refuses a scope the consumer may not have, naming it, and an unknown consumer', async () => {
    const res = await runCli(['oauth-clients', 'create', 'acme', '--scope', 'admin:all'], admin.env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('admin:all');
    expect(res.stdout).toBe('');
    const ghost = await runCli(['oauth-clients', 'create', 'ghost'], admin.env);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('Consumer/ghost');
  });
});
