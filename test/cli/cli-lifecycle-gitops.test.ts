import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, stream, upstreamYaml } from '../admin/harness.js';
import { runCli, startListeningAdmin, type ListeningAdmin } from './cli-harness.js';

/** GitOps with the lifecycle: the source file re-applies cleanly after `tollgate api lifecycle`. */
describe('apply after tollgate api lifecycle', () => {
  let admin: ListeningAdmin;
  let dir: string;
  const withState = (state: string, port = 9001) => stream(upstreamYaml('orders-svc', port), `${apiYaml('orders', 'orders-svc')}  lifecycle: { state: ${state} }\n`);

  beforeAll(async () => {
    admin = await startListeningAdmin();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-gitops-'));
  });
  afterAll(async () => {
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unchanged source file is unchanged after published and retired; a changed state is validated', async () => {
    const source = join(dir, 'orders.yaml');
    writeFileSync(source, withState('draft'));
    expect((await runCli(['apply', '-f', source], admin.env)).stdout).toBe('Upstream/orders-svc created\nApi/orders created\n');
    for (const state of ['published', 'retired']) {
      const moved = await runCli(['api', 'lifecycle', 'orders', state], admin.env);
      expect(moved.code, moved.stderr).toBe(0);
    }
    const again = await runCli(['apply', '-f', source], admin.env);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toBe('Upstream/orders-svc unchanged\nApi/orders unchanged\n');
    expect((await runCli(['diff', '-f', source], admin.env)).code).toBe(0);

    // Other changes of the file still apply; the state stays retired.
    writeFileSync(source, withState('draft', 9002));
    expect((await runCli(['apply', '-f', source], admin.env)).stdout).toBe('Upstream/orders-svc configured\nApi/orders unchanged\n');
    const exported = (await runCli(['export'], admin.env)).stdout;
    expect(exported).toContain('state: retired');

    // Declaring another state is a request, checked against the stored one.
    writeFileSync(source, withState('published', 9002));
    const refused = await runCli(['apply', '-f', source], admin.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cannot go from retired to published');
  });
});
