import { describe, expect, it } from 'vitest';
import type { NodeRecord } from '@tollgate/stores';
import { mergeTargetHealth } from './upstream-health.js';

const NOW = Date.parse('2026-12-07T09:00:00Z');
const target = { upstream: 'orders', target: 'http://10.0.0.1:80', activeHealthy: true, ejectedUntil: null, consecutiveErrors: 0, inflight: 0, maxInflight: 4 };
const node = (nodeId: string, targets: NodeRecord['targets'], lastSeen = NOW - 1000): NodeRecord => ({
  nodeId,
  hostname: 'h',
  pid: 1,
  version: '0.1.0',
  configVersion: 3,
  configHash: null,
  startedAt: new Date(NOW - 60_000),
  lastSeenAt: new Date(lastSeen),
  stoppedAt: null,
  ...(targets !== undefined ? { targets } : {}),
});

describe('mergeTargetHealth', () => {
  it('is healthy when every node serves the target, degraded when some do, unhealthy when none', () => {
    const b = { ...target, target: 'http://10.0.0.2:80' };
    const c = { ...target, target: 'http://10.0.0.3:80' };
    const merged = mergeTargetHealth(
      [node('n1', [target, { ...b, activeHealthy: false }, { ...c, ejectedUntil: new Date(NOW + 5000).toISOString() }]), node('n2', [target, b, { ...c, activeHealthy: false }], NOW - 500)],
      NOW,
    );
    expect(merged.nodes).toBe(2);
    expect(merged.reportedAt).toBe(new Date(NOW - 500).toISOString());
    expect(merged.items.map((i) => [i.target, i.status])).toEqual([
      ['http://10.0.0.1:80', 'healthy'],
      ['http://10.0.0.2:80', 'degraded'],
      ['http://10.0.0.3:80', 'unhealthy'],
    ]);
  });

  it('opens the circuit when a node is at the in-flight limit, and forgets ejections that have ended', () => {
    const merged = mergeTargetHealth([node('n1', [{ ...target, inflight: 4, ejectedUntil: new Date(NOW - 1).toISOString() }])], NOW);
    expect(merged.items[0]).toMatchObject({ status: 'healthy', circuit: 'open', nodes: [{ nodeId: 'n1', inflight: 4, maxInflight: 4, ejectedUntil: null }] });
  });

  it('skips nodes that report no targets (older versions), and says when nothing reported', () => {
    expect(mergeTargetHealth([node('old', undefined)], NOW)).toEqual({ reportedAt: null, nodes: 0, items: [] });
  });
});
