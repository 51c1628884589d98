import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

/**
 * Real Redis topologies from the `redis-server` / `redis-cli` binaries, on free loopback ports in a
 * temp dir, for tests that must run on what users operate (no Docker here): a Redis Cluster of
 * primaries with one replica each, and a Sentinel-monitored primary with a replica. Start one per
 * test file (a cluster boots in a few seconds) and stop it in afterAll.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One `redis-server` child. */
interface Node {
  readonly port: number;
  child: ChildProcess | null;
  readonly args: readonly string[];
}

function spawnNode(args: readonly string[]): ChildProcess {
  const child = spawn('redis-server', args as string[], { stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

/** Runs one command on one node (a fresh connection, no retries); rejects when it does not answer. */
async function command(port: number, ...args: string[]): Promise<unknown> {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000, commandTimeout: 2_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.call(args[0] as string, ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** `INFO`-style `key:value` lines as a map. */
function fields(text: unknown): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of String(text).split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

async function killNode(n: Node): Promise<void> {
  const child = n.child;
  n.child = null;
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** A running Redis Cluster. */
export interface RedisClusterHandle {
  /** `redis+cluster://…` naming every node (as REDIS_URL). */
  readonly url: string;
  /** Every node's port (primaries and replicas). */
  readonly ports: readonly number[];
  /** Ports of the nodes that are primaries holding slots now (as node `via` sees it). */
  primaries(via?: number): Promise<number[]>;
  /** The primary serving `slot` now. */
  primaryOf(slot: number): Promise<number>;
  /** `kill -9` one node. */
  kill(port: number): Promise<void>;
  /** Waits until another node took over the slots of killed primary `port` and the cluster is `ok` again. */
  waitForFailover(port: number, timeoutMs?: number): Promise<number>;
  /** Starts a killed node again (it rejoins, as a replica when it was failed over). */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster: `masters` primaries with `replicas` replicas each (default 3 + 3), each
 * `--cluster-enabled yes --cluster-node-timeout 1000 --save '' --appendonly no` on a free loopback
 * port (and a free cluster-bus port), created with `redis-cli --cluster create … --cluster-yes`,
 * resolved once every node reports `cluster_state:ok` and every replica is in sync.
 */
export async function startRedisCluster(options: { masters?: number; replicas?: number } = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-cluster-'));
  const nodes: Node[] = [];
  const ports = new Set<number>();
  const free = async () => {
    for (;;) {
      const p = await freePort();
      if (!ports.has(p)) {
        ports.add(p);
        return p;
      }
    }
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await free();
      const bus = await free();
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-port', String(bus), '--cluster-node-timeout', '1000',
        '--save', '', '--appendonly', 'no',
      ];
      nodes.push({ port, args, child: spawnNode(args) });
    }
    for (const n of nodes) await waitFor(`redis-server ${n.port}`, async () => (await command(n.port, 'PING')) === 'PONG', 10_000);
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
    for (const n of nodes) {
      await waitFor(`cluster_state:ok on ${n.port}`, async () => {
        const info = fields(await command(n.port, 'CLUSTER', 'INFO'));
        return info.get('cluster_state') === 'ok' && info.get('cluster_known_nodes') === String(nodes.length);
      }, 20_000);
    }
    // A failover needs replicas in sync with their primaries.
    for (const n of nodes) {
      await waitFor(`replication on ${n.port}`, async () => {
        const info = fields(await command(n.port, 'INFO', 'replication'));
        return info.get('role') === 'master' || info.get('master_link_status') === 'up';
      }, 20_000);
    }
  } catch (err) {
    for (const n of nodes) await killNode(n);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const byPort = new Map(nodes.map((n) => [n.port, n]));
  const live = () => nodes.filter((n) => n.child !== null);
  const slotsOf = async (via: number): Promise<Array<[number, number, number]>> => {
    const slots = (await command(via, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
    return slots.map((s) => [Number(s[0]), Number(s[1]), Number(s[2][1])]);
  };
  const handle: RedisClusterHandle = {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    ports: nodes.map((n) => n.port),
    async primaries(via) {
      const v = via ?? (live()[0] as Node).port;
      return [...new Set((await slotsOf(v)).map((s) => s[2]))].sort((a, b) => a - b);
    },
    async primaryOf(slot) {
      const s = (await slotsOf((live()[0] as Node).port)).find(([lo, hi]) => slot >= lo && slot <= hi);
      if (s === undefined) throw new Error(`slot ${slot} is not served`);
      return s[2];
    },
    async kill(port) {
      const n = byPort.get(port);
      if (n === undefined) throw new Error(`no node on ${port}`);
      await killNode(n);
    },
    async waitForFailover(port, timeoutMs = 20_000) {
      const started = Date.now();
      await waitFor(`failover of ${port}`, async () => {
        for (const n of live()) {
          const info = fields(await command(n.port, 'CLUSTER', 'INFO'));
          if (info.get('cluster_state') !== 'ok') return false;
          if ((await slotsOf(n.port)).some((s) => s[2] === port)) return false;
        }
        return true;
      }, timeoutMs);
      return Date.now() - started;
    },
    async restart(port) {
      const n = byPort.get(port);
      if (n === undefined) throw new Error(`no node on ${port}`);
      if (n.child !== null) return;
      n.child = spawnNode(n.args);
      await waitFor(`redis-server ${port}`, async () => (await command(port, 'PING')) === 'PONG', 10_000);
    },
    async stop() {
      for (const n of nodes) await killNode(n);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

/** A running primary + replica monitored by sentinels. */
export interface RedisSentinelHandle {
  /** `redis+sentinel://…/<name>` (as REDIS_URL). */
  readonly url: string;
  readonly name: string;
  /** The port of the current primary, as the sentinels report it. */
  primary(): Promise<number>;
  /** `kill -9` the current primary and wait until the sentinels promoted the replica; resolves with the new primary's port. */
  failover(timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts a primary, one replica and `sentinels` sentinels (default 1, quorum 1) on free loopback
 * ports, with `down-after-milliseconds 1000` so a failover takes a few seconds.
 */
export async function startRedisSentinel(options: { sentinels?: number; name?: string } = {}): Promise<RedisSentinelHandle> {
  const name = options.name ?? 'tollgate-primary';
  const count = options.sentinels ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-sentinel-'));
  const children: Node[] = [];
  try {
    const [p, r] = [await freePort(), await freePort()];
    const base = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
    const primaryArgs = ['--port', String(p), ...base];
    const replicaArgs = ['--port', String(r), ...base, '--replicaof', '127.0.0.1', String(p)];
    children.push({ port: p, args: primaryArgs, child: spawnNode(primaryArgs) }, { port: r, args: replicaArgs, child: spawnNode(replicaArgs) });
    for (const port of [p, r]) await waitFor(`redis-server ${port}`, async () => (await command(port, 'PING')) === 'PONG', 10_000);
    await waitFor('replica in sync', async () => fields(await command(r, 'INFO', 'replication')).get('master_link_status') === 'up', 10_000);
    const quorum = Math.floor(count / 2) + 1;
    const sentinelPorts: number[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its config file (known replicas, epochs), so each gets its own.
      writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${p} ${quorum}`, `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 5000`, `sentinel parallel-syncs ${name} 1`, ''].join('\n'));
      const args = [conf, '--sentinel'];
      children.push({ port, args, child: spawnNode(args) });
      sentinelPorts.push(port);
    }
    for (const port of sentinelPorts) {
      await waitFor(`sentinel ${port}`, async () => {
        const info = fields(await command(port, 'INFO', 'sentinel'));
        return [...info.values()].some((v) => v.includes(`name=${name},status=ok`) && v.includes('slaves=1'));
      }, 15_000);
    }
    const byPort = new Map(children.map((n) => [n.port, n]));
    const primary = async () => {
      const addr = (await command(sentinelPorts[0] as number, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
      return Number(addr[1]);
    };
    return {
      url: `redis+sentinel://${sentinelPorts.map((s) => `127.0.0.1:${s}`).join(',')}/${name}`,
      name,
      primary,
      async failover(timeoutMs = 20_000) {
        const old = await primary();
        const n = byPort.get(old);
        if (n === undefined) throw new Error(`no node on ${old}`);
        await killNode(n);
        let next = old;
        await waitFor('sentinel failover', async () => {
          next = await primary();
          return next !== old && fields(await command(next, 'INFO', 'replication')).get('role') === 'master';
        }, timeoutMs);
        return next;
      },
      async stop() {
        for (const n of children) await killNode(n);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const n of children) await killNode(n);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
