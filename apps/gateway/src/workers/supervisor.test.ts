import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerSupervisor } from './supervisor.js';

// Real node:cluster workers running a small fixture instead of the gateway.
const exec = fileURLToPath(new URL('./fixtures/crashing-worker.mjs', import.meta.url));
const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let supervisor: WorkerSupervisor | null = null;

/** `restartInMs` of every "restarting it" log line. */
const delays: number[] = [];
const recording = pino({ level: 'error' }, { write: (line: string) => void delays.push((JSON.parse(line) as { restartInMs?: number }).restartInMs ?? -1) });

function supervise(mode: string, count: number): WorkerSupervisor {
  // Forks inherit this process's environment (setupPrimary has no env setting).
  process.env.CRASH_MODE = mode;
  cluster.setupPrimary({ exec, silent: true });
  supervisor = new WorkerSupervisor({ count, logger: mode === 'loop' ? recording : silent, stopTimeoutMs: 2_000, restartBaseMs: 100, restartMaxMs: 800 });
  return supervisor;
}

afterEach(async () => {
  await supervisor?.stop();
  supervisor = null;
});

describe('WorkerSupervisor', () => {
  it('starts the workers, answers queries from each, and stops them all on stop()', async () => {
    const s = supervise('stay', 2);
    await s.start();
    const pids = s.workers().map((w) => w.pid);
    expect(pids).toHaveLength(2);
    const answers = await s.ask('status', 1_000);
    expect(answers.map((a) => (a.answer?.body as { pid: number }).pid).sort()).toEqual([...pids].sort());
    await s.stop();
    expect(s.workers()).toEqual([]);
    for (const pid of pids) expect(() => process.kill(pid as number, 0)).toThrow();
  });

  it('restarts a crashing worker with a growing delay (no spinning crash loop)', async () => {
    const s = supervise('loop', 1);
    await s.start();
    while (delays.length < 5) await sleep(50);
    // Each consecutive crash doubles the delay, up to the maximum.
    expect(delays.slice(0, 5)).toEqual([100, 200, 400, 800, 800]);
    expect(s.restarts).toBeGreaterThanOrEqual(4);
  });

  it('fails the start when a worker dies before the initial set serves', async () => {
    const s = supervise('early', 2);
    await expect(s.start()).rejects.toThrow('exited during start-up');
  });
});
