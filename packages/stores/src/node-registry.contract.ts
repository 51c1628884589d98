import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeHeartbeat, NodeRegistry } from './node-registry.js';

/** A registry under test and how to dispose of it. */
export interface NodeRegistryHarness {
  nodes: NodeRegistry;
  destroy(): Promise<void>;
}

const node = (id: string, over: Partial<NodeHeartbeat> = {}): NodeHeartbeat => ({
  nodeId: id,
  hostname: 'host-a',
  pid: 100,
  version: '0.1.0',
  configVersion: null,
  configHash: null,
  startedAt: new Date('2026-11-26T10:00:00Z'),
  ...over,
});

/** The behaviour every NodeRegistry must have. */
export function nodeRegistryContract(name: string, factory: () => Promise<NodeRegistryHarness>): void {
  describe(`NodeRegistry contract: ${name}`, () => {
    let h: NodeRegistryHarness;
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h.destroy();
    });

    it('lists a node after its heartbeat and refreshes it in place', async () => {
      await h.nodes.heartbeat(node('n1'), new Date('2026-11-26T10:00:05Z'));
      await h.nodes.heartbeat(node('n1', { configVersion: 7, configHash: 'abc' }), new Date('2026-11-26T10:00:15Z'));
      const seen = await h.nodes.seenSince(new Date('2026-11-26T10:00:10Z'));
      expect(seen.map((n) => [n.nodeId, n.configVersion, n.configHash, n.lastSeenAt.toISOString()])).toEqual([['n1', 7, 'abc', '2026-11-26T10:00:15.000Z']]);
      expect(seen[0]?.stoppedAt).toBeNull();
    });

    it('leaves out nodes not seen since the moment, and stopped nodes', async () => {
      await h.nodes.heartbeat(node('old'), new Date('2026-11-26T09:00:00Z'));
      await h.nodes.heartbeat(node('gone'), new Date('2026-11-26T10:00:20Z'));
      await h.nodes.stopped('gone', new Date('2026-11-26T10:00:21Z'));
      const ids = (await h.nodes.seenSince(new Date('2026-11-26T10:00:10Z'))).map((n) => n.nodeId);
      expect(ids).toContain('n1');
      expect(ids).not.toContain('old');
      expect(ids).not.toContain('gone');
      const all = await h.nodes.list(10);
      expect(all.find((n) => n.nodeId === 'gone')?.stoppedAt?.toISOString()).toBe('2026-11-26T10:00:21.000Z');
      expect(all.map((n) => n.nodeId)).toContain('old');
    });

    it('a new heartbeat of a stopped id (a restart) clears the stop', async () => {
      await h.nodes.heartbeat(node('gone', { pid: 200 }), new Date('2026-11-26T10:00:30Z'));
      const seen = await h.nodes.seenSince(new Date('2026-11-26T10:00:25Z'));
      expect(seen.find((n) => n.nodeId === 'gone')).toMatchObject({ pid: 200, stoppedAt: null });
    });

    it('keeps the targets health of the last heartbeat, and none for a node that reports none', async () => {
      const target = { upstream: 'orders', target: 'http://10.0.0.1:80', activeHealthy: true, ejectedUntil: null, consecutiveErrors: 0, inflight: 2, maxInflight: 1024 };
      await h.nodes.heartbeat(node('t1', { targets: [target] }), new Date('2026-11-26T10:01:00Z'));
      await h.nodes.heartbeat(node('t1', { targets: [{ ...target, activeHealthy: false, ejectedUntil: '2026-11-26T10:01:31.000Z' }] }), new Date('2026-11-26T10:01:01Z'));
      await h.nodes.heartbeat(node('t2'), new Date('2026-11-26T10:01:01Z'));
      const seen = await h.nodes.seenSince(new Date('2026-11-26T10:00:59Z'));
      expect(seen.find((n) => n.nodeId === 't1')?.targets).toEqual([{ ...target, activeHealthy: false, ejectedUntil: '2026-11-26T10:01:31.000Z' }]);
      expect(seen.find((n) => n.nodeId === 't2')?.targets).toBeUndefined();
    });

    it('bounds listings', async () => {
      await expect(h.nodes.list(0)).rejects.toThrow(RangeError);
      expect((await h.nodes.list(1)).length).toBe(1);
    });
  });
}
