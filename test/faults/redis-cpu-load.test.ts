import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TollgateProcess } from '../support/tollgate-process.js';
import { get, metric, sleep, startRedisFaultCluster, type RedisFaultCluster } from './redis-harness.js';

/**
 * Issue #15 item 8: "exact across nodes" weakened under CPU load (264 successes of a 100/minute
 * limit). Cause: ioredis's `commandTimeout` (500 ms) runs from a timer, and after an event-loop
 * stall of the gateway itself (500 requests arriving at once on a loaded CPU) timers fire before
 * the socket holding Redis's answer is read, and auto-pipelined commands queued behind the batch in
 * flight are not even sent yet: commands Redis answered in a millisecond "timed out", and each
 * node fell back to its own in-process count (fail open), silently. Now the deadline does not
 * count the gateway's own stalls, and every decision taken without Redis is counted in
 * `tollgate_limits_local_decisions_total` and logged.
 *
 * Here: 1000 concurrent requests over both nodes while CPU burners load the machine. Exactly 100
 * pass and no request is decided locally, unless Redis itself did not answer within the deadline
 * (measured by a probe on the side): then the fallback must be visible and bound the excess.
 */

const BURNERS = 3;

describe('limiter under CPU load', () => {
  let c: RedisFaultCluster;
  const burners: ChildProcess[] = [];

  beforeAll(async () => {
    c = await startRedisFaultCluster({ env: { ACCESS_LOG: 'false' } });
    const sfx = c.suffix;
    await c.apply(
      `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: exact-${sfx} }\nspec:\n  basePath: /exact\n  policies: [{ name: rate-limit, config: { by: route, limits: [{ limit: 100, window: 1m }] } }]\n  routes: [{ name: all, destination: { upstream: svc } }]\n`,
    );
  }, 60_000);

  afterAll(async () => {
    for (const b of burners) b.kill('SIGKILL');
    await c?.stop();
  });

  it('1000 concurrent requests over both nodes on a loaded CPU: exactly 100 pass, none decided without Redis', async () => {
    const [a, b] = c.gateways as [TollgateProcess, TollgateProcess];
    // A fresh minute window with room for the burst.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 20_000) await sleep(left + 50);
    for (let i = 0; i < BURNERS; i++) burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    // Redis's own latency during the burst, measured by redis-cli (its own process, sampling every
    // 10 ms; not this test process, which is busy with the 1000 requests).
    const probe = spawn('redis-cli', ['-p', String(c.redis.port), '--latency', '--raw'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let probeOut = '';
    probe.stdout?.on('data', (d: Buffer) => (probeOut += d.toString()));
    const probeDone = new Promise((r) => probe.once('exit', r));
    let results: Awaited<ReturnType<typeof get>>[];
    try {
      await sleep(300);
      results = await Promise.all(Array.from({ length: 1000 }, (_, i) => get(i % 2 === 0 ? a : b, '/exact/x')));
    } finally {
      for (const p of burners.splice(0)) p.kill('SIGKILL');
      probe.kill('SIGINT');
      await probeDone;
    }
    // "min max avg samples" in ms.
    const worstPingMs = Number(probeOut.trim().split(/\s+/)[1] ?? Infinity);
    const ok = results.filter((r) => r.status === 200).length;
    const refused = results.filter((r) => r.status === 429).length;
    let local = 0;
    for (const g of [a, b]) local += await metric(g, 'tollgate_limits_local_decisions_total');
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    const statuses = [...byStatus].map(([k, v]) => `${k}:${v}`).join(' ');
    const reasons: string[] = [];
    for (const g of [a, b]) for (const r of ["error", "timeout"]) reasons.push(`${r}=${await metric(g, "tollgate_limits_local_decisions_total", `reason="${r}"`)}`);
    const note = `ok=${ok} localDecisions=${local} (${reasons.join(" ")}) worstRedisLatencyMs=${worstPingMs} statuses=${statuses}`;
    console.info(note);
    expect(ok + refused, note).toBe(1000);
    if (worstPingMs < 250) {
      // Redis answered in time throughout: the gateways' own stalls must not count as timeouts.
      expect(local, note).toBe(0);
      expect(ok, note).toBe(100);
    } else {
      // Redis itself was slower than the deadline: the documented fail-open fallback, visible and bounded.
      expect(ok, note).toBeLessThanOrEqual(100 + local);
      if (local === 0) expect(ok, note).toBe(100);
      else for (const g of [a, b]) if ((await metric(g, 'tollgate_limits_local_decisions_total')) > 0) expect(g.output()).toMatch(/counter store unreachable/);
    }
    // The remaining values seen by the successes count down without repeats when Redis decided all.
    if (local === 0) {
      const remaining = results.filter((r) => r.status === 200).map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((x, y) => y - x);
      expect(remaining).toEqual(Array.from({ length: 100 }, (_, i) => 99 - i));
    }
  }, 80_000);
});
