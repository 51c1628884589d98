import { compileConfig, type CompiledConfig } from '@tollgate/compiler';
import { parseResourcesYaml } from '@tollgate/model';
import { describe, expect, it } from 'vitest';
import { closeGrpcChannels, grpcChannels } from './channels.js';
import { buildProtocolRuntimeSteps } from './index.js';

/** `apis` plain Apis of two routes each, then one Api whose route converts to gRPC-Web (the last entry). */
function compiled(apis: number): CompiledConfig {
  const docs = [
    'apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: plain }\nspec: { targets: [{ url: "http://127.0.0.1:9" }] }',
    'apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: g }\nspec: { targets: [{ url: "http://127.0.0.1:50051" }] }',
    ...Array.from({ length: apis }, (_, i) => `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: a${i} }\nspec:\n  basePath: /a${i}\n  routes:\n    - { name: items, match: [{ path: { prefix: /items } }], destination: { upstream: plain } }\n    - { name: orders, match: [{ path: { template: "/orders/{id}" } }], destination: { upstream: plain } }`),
    'apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: zz-grpc }\nspec:\n  basePath: /grpc\n  routes: [{ name: web, grpcWeb: { upstream: g } }]',
  ];
  const r = parseResourcesYaml(docs.join('\n---\n'));
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const c = compileConfig(r.resources, 1);
  if (!c.ok) throw new Error(JSON.stringify(c.issues));
  return c.config;
}

describe('buildProtocolRuntimeSteps', () => {
  it('scans a large route table in steps (#16) and still finds a conversion on its last route', async () => {
    const config = compiled(600);
    expect(config.routes.entries.length).toBeGreaterThan(1_200);
    const owner = {};
    const steps = buildProtocolRuntimeSteps(config, owner, new Map());
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    // 1,201 entries at 512 per step: the scan yields between pieces instead of holding the loop.
    expect(yields).toBeGreaterThanOrEqual(2);
    // The gRPC-Web route is the table's last entry: its upstream's channel was opened.
    expect(grpcChannels(owner).size).toBe(1);
    expect(config.routes.entries.at(-1)?.value.actions.protocol?.kind).toBe('grpcWeb');
    await closeGrpcChannels(owner, 0);
  });
});
