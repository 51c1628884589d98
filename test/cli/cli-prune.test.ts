import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stream, upstreamYaml } from '../admin/harness.js';
import { runCli, startListeningAdmin, type ListeningAdmin } from './cli-harness.js';

/**
 * `apply --prune` and `POST /config?prune=…` are scoped: billing kinds (Consumer, Plan,
 * Subscription) stay unless pruneBilling is given, pruneKind / selector narrow further, and the
 * CLI lists what would go and asks (or needs --yes) before anything is deleted.
 */
const labelled = (name: string, labels: Record<string, string>, port = 9001) =>
  upstreamYaml(name, port).replace(`name: ${name}\n`, `name: ${name}\n  labels: ${JSON.stringify(labels)}\n`);
const billing = stream(
  'apiVersion: tollgate.dev/v1\nkind: Consumer\nmetadata: { name: acme }\nspec: {}\n',
  'apiVersion: tollgate.dev/v1\nkind: Plan\nmetadata: { name: gold }\nspec: { limits: [{ limit: 10, window: 1s }] }\n',
  'apiVersion: tollgate.dev/v1\nkind: Subscription\nmetadata: { name: acme-gold }\nspec: { consumer: acme, plan: gold, start: "2026-01-01T00:00:00Z" }\n',
);

describe('scoped prune', () => {
  let admin: ListeningAdmin;
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const post = async (query: string, yaml: string) =>
    admin.app.inject({ method: 'POST', url: `/config?${query}`, headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/yaml' }, payload: yaml });
  const kinds = async () => {
    const res = await admin.app.inject({ method: 'GET', url: '/config?format=json', headers: { authorization: `Bearer ${admin.token}` } });
    return (res.json() as { items: Array<{ kind: string; metadata: { name: string } }> }).items.map((i) => `${i.kind}/${i.metadata.name}`).sort();
  };

  beforeAll(async () => {
    admin = await startListeningAdmin();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-prune-'));
  });
  afterAll(async () => {
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    expect((await post('prune=true&pruneBilling=true', '')).statusCode).toBe(200);
    const seeded = await post('', stream(billing, labelled('a', { team: 'pay' }), labelled('b', { team: 'pay' }, 9002), labelled('c', { team: 'search' }, 9003)));
    expect(seeded.statusCode, seeded.body).toBe(200);
  });

  describe('POST /config', () => {
    it('prune=true keeps Consumer, Plan and Subscription and says so in the scope', async () => {
      const res = await post('prune=true', upstreamYaml('a'));
      expect(res.statusCode).toBe(200);
      const body = res.json() as { changes: Array<{ kind: string; name: string; action: string }>; prune: { kinds: string[] } };
      expect(body.changes.filter((c) => c.action === 'delete').map((c) => `${c.kind}/${c.name}`)).toEqual(['Upstream/b', 'Upstream/c']);
      expect(body.prune.kinds).not.toContain('Consumer');
      expect(await kinds()).toEqual(['Consumer/acme', 'Plan/gold', 'Subscription/acme-gold', 'Upstream/a']);
    });

    it('pruneBilling=true also deletes billing kinds', async () => {
      const res = await post('prune=true&pruneBilling=true&dryRun=true', upstreamYaml('a'));
      expect(res.json().changes.filter((c: { action: string }) => c.action === 'delete')).toHaveLength(5);
    });

    it.each([
      ['selector=team=pay', ['Upstream/a', 'Upstream/b']],
      ['selector=team!=pay', ['Upstream/c']],
      ['selector=team', ['Upstream/a', 'Upstream/b', 'Upstream/c']],
      ['selector=!team', []],
      ['pruneKind=Api', []],
      ['pruneKind=Upstream&selector=team%3Dsearch', ['Upstream/c']],
    ])('scopes by %s', async (query, deleted) => {
      const res = await post(`prune=true&dryRun=true&${query}`, '');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().changes.filter((c: { action: string }) => c.action === 'delete').map((c: { kind: string; name: string }) => `${c.kind}/${c.name}`)).toEqual(deleted);
    });

    it.each([
      ['pruneKind=Consumer', 'querystring.pruneKind', 'billing_kind_protected'],
      ['pruneKind=Upstream,Subscription', 'querystring.pruneKind', 'billing_kind_protected'],
      ['pruneKind=Gizmo', 'querystring.pruneKind', 'unknown_kind'],
      ['selector=a=b=c', 'querystring.selector', 'invalid_selector'],
      ['selector=,', 'querystring.selector', 'invalid_selector'],
    ])('refuses %s with a problem naming the parameter', async (query, path, code) => {
      const res = await post(`prune=true&${query}`, '');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'INVALID_REQUEST', errors: [{ path, code }] });
      expect(await kinds()).toHaveLength(6);
    });

    it('refuses scope parameters without prune=true', async () => {
      const res = await post('selector=team=pay', upstreamYaml('a'));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ errors: [{ path: 'querystring.selector', code: 'requires_prune' }] });
    });
  });

  describe('tollgate apply --prune', () => {
    it('lists what would go and, without a terminal, deletes nothing unless --yes', async () => {
      const f = file('a.yaml', labelled('a', { team: 'pay' }));
      const refused = await runCli(['apply', '-f', f, '--prune'], admin.env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('The prune would delete 2 resources:\n  Upstream/b\n  Upstream/c\n');
      expect(refused.stderr).toContain('(Consumer, Plan, Subscription kept; --prune-billing to include)');
      expect(refused.stderr).toContain('re-run with --yes');
      expect(refused.stdout).toBe('');
      expect(await kinds()).toHaveLength(6);

      const done = await runCli(['apply', '-f', f, '--prune', '--yes'], admin.env);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toBe('Upstream/a unchanged\nUpstream/b deleted\nUpstream/c deleted\n');
      expect(await kinds()).toEqual(['Consumer/acme', 'Plan/gold', 'Subscription/acme-gold', 'Upstream/a']);
    });

    it('--selector, --prune-kind and --prune-billing reach the server; billing kinds need --prune-billing', async () => {
      const f = file('empty.yaml', labelled('a', { team: 'pay' }));
      const bySelector = await runCli(['apply', '-f', f, '--prune', '-l', 'team=search', '--dry-run'], admin.env);
      expect(bySelector.stdout).toBe('Upstream/a unchanged (dry run)\nUpstream/c deleted (dry run)\n');
      const billingRefused = await runCli(['apply', '-f', f, '--prune', '--prune-kind', 'Consumer', '--dry-run'], admin.env);
      expect(billingRefused.code).toBe(1);
      expect(billingRefused.stderr).toContain('pruneBilling=true');
      const billingAllowed = await runCli(['apply', '-f', f, '--prune', '--prune-kind', 'Subscription', '--prune-billing', '--yes'], admin.env);
      expect(billingAllowed.stdout).toBe('Upstream/a unchanged\nSubscription/acme-gold deleted\n');
      const noPrune = await runCli(['apply', '-f', f, '-l', 'team=pay'], admin.env);
      expect(noPrune.code).toBe(1);
      expect(noPrune.stderr).toContain('only apply together with --prune');
    });

    it('diff --prune shows only what the scoped prune would delete', async () => {
      const f = file('a2.yaml', upstreamYaml('a'));
      const res = await runCli(['diff', '-f', f, '--prune', '-l', 'team=pay'], admin.env);
      expect(res.code).toBe(1);
      expect(res.stdout).toContain('live/Upstream/b');
      expect(res.stdout).not.toContain('Upstream/c');
      expect(res.stdout).not.toContain('Consumer/acme');
    });
  });
});
