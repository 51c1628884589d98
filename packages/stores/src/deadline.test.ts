import { createConnection, createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { randomPrefix, testRedisUrl } from '../../../test/support/databases.js';
import { COMMAND_TIMEOUT, withDeadline } from './deadline.js';
import { CountersUnseededError, COUNTERS_UNSEEDED } from './counter-store.js';
import { createRedisCounterStore } from './redis-counter-store.js';

/** Blocks the event loop, as a burst of requests on a loaded CPU does. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

describe('withDeadline', () => {
  it('times out a command that never answers', async () => {
    const started = Date.now();
    await expect(withDeadline(new Promise(() => {}), 50)).rejects.toMatchObject({ code: COMMAND_TIMEOUT });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('passes a value and an error through and does not time out afterwards', async () => {
    expect(await withDeadline(Promise.resolve(7), 10)).toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 10)).rejects.toThrow('boom');
  });

  it('an answer that arrived during an event-loop stall longer than the deadline is not a timeout (variants: 1, 20, 200 commands)', async () => {
    const store = await createRedisCounterStore({ url: testRedisUrl(), keyPrefix: `${randomPrefix('deadline')}:`, commandTimeoutMs: 100 });
    try {
      for (const n of [1, 20, 200]) {
        const calls = Array.from({ length: n }, (_, i) => store.consume(`t${n}`, [{ key: `w${i % 3}`, limit: 1_000, ttlMs: 60_000 }], 1));
        // Redis answers in about a millisecond; this process reads the answers only after the stall,
        // i.e. after every deadline has expired.
        stall(400);
        const results = await Promise.allSettled(calls);
        expect(results.filter((r) => r.status === 'rejected'), `${n} commands`).toEqual([]);
      }
    } finally {
      await store.close();
    }
  });

  it('a loop kept busy by I/O callbacks (never idle, no single long block) does not trip it either', async () => {
    // Ping-pong over loopback: each answer's callback keeps the loop busy for 150 ms; the
    // "command" answers in the third one, long after a 100 ms deadline measured by the wall clock.
    const server = createServer((s) => s.on('data', (d) => s.write(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
    let answer!: (v: string) => void;
    const command = new Promise<string>((r) => (answer = r));
    let rounds = 0;
    client.on('data', () => {
      stall(150);
      rounds += 1;
      if (rounds === 3) answer('late but the loop never listened');
      else client.write('x');
    });
    try {
      await new Promise<void>((r) => client.once('connect', r));
      const result = withDeadline(command, 100);
      client.write('x');
      expect(await result).toBe('late but the loop never listened');
    } finally {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('consume with a guard key', () => {
  it('counts nothing and rejects while the guard is absent; returns the guard value once present', async () => {
    const prefix = `${randomPrefix('guard')}:`;
    const store = await createRedisCounterStore({ url: testRedisUrl(), keyPrefix: prefix });
    try {
      const w = [{ key: 'q:2026-12', limit: 10, ttlMs: 60_000 }];
      await expect(store.consume('usage:1', w, 3, '{usage:1}:epoch')).rejects.toBeInstanceOf(CountersUnseededError);
      await expect(store.consume('usage:1', w, 3, '{usage:1}:epoch')).rejects.toMatchObject({ code: COUNTERS_UNSEEDED });
      expect(await store.client.exists(store.windowKey('usage:1', 'q:2026-12'))).toBe(0);
      await store.client.set(`${prefix}{usage:1}:epoch`, 'node-1@42');
      const r = await store.consume('usage:1', w, 3, '{usage:1}:epoch');
      expect(r).toMatchObject({ allowed: true, counts: [3], epoch: 'node-1@42' });
      // Refused calls report the epoch too; without a guard there is none.
      expect(await store.consume('usage:1', w, 8, '{usage:1}:epoch')).toMatchObject({ allowed: false, counts: [3], epoch: 'node-1@42' });
      expect((await store.consume('usage:1', w, 1)).epoch).toBeUndefined();
      // While the hold key exists (just after a seed), the guard counts as absent.
      await store.client.set(`${prefix}{usage:1}:epoch:hold`, '1', 'PX', 60_000);
      await expect(store.consume('usage:1', w, 1, '{usage:1}:epoch')).rejects.toMatchObject({ code: COUNTERS_UNSEEDED });
      expect(await store.client.get(store.windowKey('usage:1', 'q:2026-12'))).toBe('4');
      await store.client.del(`${prefix}{usage:1}:epoch:hold`);
      expect(await store.consume('usage:1', w, 1, '{usage:1}:epoch')).toMatchObject({ allowed: true, counts: [5] });
      // A guard in another slot would fail with CROSSSLOT on a cluster: refused on every deployment.
      await expect(store.consume('usage:1', w, 1, 'usage:epoch')).rejects.toBeInstanceOf(RangeError);
    } finally {
      await store.client.del(`${prefix}{usage:1}:epoch`);
      await store.close();
    }
  });
});
