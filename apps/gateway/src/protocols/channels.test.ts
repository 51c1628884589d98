import { compileConfig, type CompiledConfig } from '@tollgate/compiler';
import { parseResourcesYaml } from '@tollgate/model';
import { describe, expect, it } from 'vitest';
import { buildProtocolRuntime } from './index.js';
import { closeGrpcChannels, grpcChannels } from './channels.js';

function compiled(target: string, routeName: string): CompiledConfig {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: g }
spec: { targets: [{ url: "${target}" }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: a }
spec:
  routes: [{ name: ${routeName}, grpcWeb: { upstream: g } }]
`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const c = compileConfig(r.resources, 1);
  if (!c.ok) throw new Error(JSON.stringify(c.issues));
  return c.config;
}

describe('gRPC channels across snapshots', () => {
  it('keeps a target channel while the target is unchanged and opens one for a new target', async () => {
    const owner = {};
    buildProtocolRuntime(compiled('http://127.0.0.1:50051', 'one'), owner, new Map());
    expect(grpcChannels(owner).size).toBe(1);
    // Another snapshot with the same target (a different route): no new channel.
    buildProtocolRuntime(compiled('http://127.0.0.1:50051', 'two'), owner, new Map());
    expect(grpcChannels(owner).size).toBe(1);
    // A new target: a new channel; the old one retires after the grace period.
    buildProtocolRuntime(compiled('http://127.0.0.1:50052', 'two'), owner, new Map());
    expect(grpcChannels(owner).size).toBe(2);
    await closeGrpcChannels(owner, 100);
    expect(grpcChannels(owner).size).toBe(0);
  });

  it('channels of one gateway are not another gateway\'s', () => {
    const a = {};
    const b = {};
    buildProtocolRuntime(compiled('http://127.0.0.1:50051', 'one'), a, new Map());
    expect(grpcChannels(b).size).toBe(0);
    void closeGrpcChannels(a, 0);
  });
});
