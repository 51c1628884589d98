import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LAUNCH_NODE_FLAGS } from '../../apps/cli/dist/node-flags.js';
import { freePort } from './ports.js';

/** The built CLI, as `npm start` runs it. Black-box tests run the real build, not the source. */
export const CLI = fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url));

/** A `tollgate start …` child process and the ports it listens on. */
export interface TollgateProcess {
  child: ChildProcess;
  proxyUrl: string;
  adminUrl: string;
  statusUrl: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited, with its exit code. */
  exited: Promise<number | null>;
  /** SIGTERM and wait for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

export interface StartTollgateOptions {
  role?: 'all' | 'gateway' | 'admin';
  env?: Record<string, string | undefined>;
  /** Wait for this to be true before resolving: 'ready' (/readyz 200), 'admin' (/healthz 200) or 'none'. */
  waitFor?: 'ready' | 'admin' | 'none';
  /** How long to wait for it (default 30 s; 60 s on the embedded store, whose first start creates a PGlite database and runs on a loaded CI machine in 30-40 s). */
  readyTimeoutMs?: number;
}

/** Starts Tollgate as a child process on free ports and waits until it answers. */
export async function startTollgateProcess(options: StartTollgateOptions = {}): Promise<TollgateProcess> {
  const role = options.role ?? 'all';
  const [proxy, admin, status, proxyTls] = [await freePort(), await freePort(), await freePort(), await freePort()];
  let out = '';
  // Launched as `npm start` and the image launch it: with the V8 flags of every Tollgate process.
  const child = spawn(process.execPath, [...LAUNCH_NODE_FLAGS, CLI, 'start', role], {
    env: {
      PATH: process.env.PATH,
      PROXY_PORT: String(proxy),
      PROXY_TLS_PORT: String(proxyTls),
      ADMIN_PORT: String(admin),
      STATUS_PORT: String(status),
      PROXY_HOST: '127.0.0.1',
      STATUS_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      CONFIG_POLL_MS: '2000',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const proc: TollgateProcess = {
    child,
    proxyUrl: `http://127.0.0.1:${proxy}`,
    adminUrl: `http://127.0.0.1:${admin}`,
    statusUrl: `http://127.0.0.1:${status}`,
    output: () => out,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const waitFor = options.waitFor ?? (role === 'admin' ? 'admin' : 'ready');
  if (waitFor !== 'none') {
    // Role `all` listens with the gateway first and the admin API second: wait for both.
    const urls = waitFor === 'ready' ? [`${proc.statusUrl}/readyz`] : [];
    if (role !== 'gateway') urls.push(`${proc.adminUrl}/healthz`);
    const embedded = options.env?.DATABASE_URL === undefined;
    const readyTimeoutMs = options.readyTimeoutMs ?? (embedded ? 60_000 : 30_000);
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`tollgate exited with ${child.exitCode}:\n${out}`);
      try {
        const answers = await Promise.all(urls.map((u) => fetch(u).then((r) => r.ok)));
        if (answers.every(Boolean)) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await proc.stop(1000);
        throw new Error(`tollgate did not become ready in ${readyTimeoutMs / 1000} s:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return proc;
}

/** Polls `fn` until it returns true; resolves with the elapsed milliseconds, rejects after `timeoutMs`. */
export async function waitUntil(fn: () => Promise<boolean>, timeoutMs: number, intervalMs = 20): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await fn().catch(() => false)) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** One `start admin` process and two `start gateway` processes sharing one environment. */
export interface TollgateCluster {
  admin: TollgateProcess;
  gateways: TollgateProcess[];
}

/**
 * Starts an admin and two gateway processes at once (so migrations also run concurrently), on the
 * stores `env` names. `gatewayWaitFor` as in StartTollgateOptions.
 */
export async function startTollgateCluster(env: Record<string, string | undefined>, gatewayWaitFor: StartTollgateOptions['waitFor'] = 'ready'): Promise<TollgateCluster> {
  const [admin, ...gateways] = await Promise.all([
    startTollgateProcess({ role: 'admin', env }),
    startTollgateProcess({ role: 'gateway', env, waitFor: gatewayWaitFor }),
    startTollgateProcess({ role: 'gateway', env, waitFor: gatewayWaitFor }),
  ]);
  return { admin: admin as TollgateProcess, gateways };
}
