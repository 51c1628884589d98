import { createServer } from 'node:net';

/**
 * Ports for child processes (gateways, admins, Redis nodes) come from below Linux's ephemeral
 * range (32768-60999), each vitest worker from its own slice. A port found with `listen(0)` and
 * released belongs to the kernel's ephemeral pool again: with three test files at a time, another
 * worker's `listen(0)` or an outgoing connection took it before the child bound it (EADDRINUSE).
 * Below that range the kernel hands out nothing by itself, and the slices keep workers apart.
 */
const LOW = 20_000;
const HIGH = 32_000;
const SLICES = 8;
const SLICE = Math.floor((HIGH - LOW) / SLICES);
const slice = (Math.max(1, Number(process.env.VITEST_POOL_ID ?? '1') || 1) - 1) % SLICES;
/** Where this process starts in its slice: random, so a file that follows another in the same worker does not reuse the ports its processes may still hold. */
let cursor = Math.floor(Math.random() * SLICE);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    // All interfaces: refused as well when something holds the port on 127.0.0.1 only.
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A TCP port free right now, for child processes that take a port number (see above). */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < SLICE; tries++) {
    const port = LOW + slice * SLICE + (cursor++ % SLICE);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${LOW + slice * SLICE}-${LOW + (slice + 1) * SLICE - 1}`);
}
