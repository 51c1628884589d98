import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

/** A broker process this test owns (the machine's shared brokers are never stopped). */
export interface OwnedProcess {
  stop(): Promise<void>;
}

function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}`)), timeoutMs);
    const on = (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${out}`));
    });
  });
}

function owned(child: ChildProcess): OwnedProcess {
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      // SIGKILL: a broker that dies, not one that shuts down politely.
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The owned process once `ready` resolves; killed when it does not (never left running untracked). */
async function started(child: ChildProcess, ready: Promise<void>): Promise<OwnedProcess> {
  const p = owned(child);
  try {
    await ready;
  } catch (err) {
    await p.stop();
    throw err;
  }
  return p;
}

/** nats-server with JetStream on `port`, storing in `storeDir` (kept across restarts). */
export async function startNatsServer(port: number, storeDir: string, tls?: { certFile: string; keyFile: string }): Promise<OwnedProcess> {
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (tls !== undefined) args.push('--tls', '--tlscert', tls.certFile, '--tlskey', tls.keyFile);
  const child = spawn('/usr/sbin/nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return started(child, waitForLine(child, /Server is ready/));
}

/** Mosquitto on `port` (anonymous, no persistence). */
export async function startMosquitto(port: number, dir: string): Promise<OwnedProcess> {
  const conf = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Mosquitto buffers its log when stdout is not a terminal: wait for the port instead.
  return started(child, waitForPort(port, child));
}

/** A TCP proxy to `target` that a test can cut (every connection reset, new ones refused) and restore. */
export class TcpProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  constructor(readonly port: number, private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      this.#sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.#server = server;
  }

  /** Resets every connection and stops listening, as a broker that went away. */
  async cut(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    for (const sock of this.#sockets) sock.resetAndDestroy();
    this.#sockets.clear();
    if (s !== null) await new Promise<void>((r) => s.close(() => r()));
  }
}
