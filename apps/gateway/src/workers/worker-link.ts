import type { Gateway } from '../gateway.js';
import { isTollgateMessage, type WorkerAnswer, type WorkerQuery, type WorkerReady } from './messages.js';

/** The channel to the primary: `process` in a node:cluster worker (has `send`). */
export interface PrimaryChannel {
  send?(message: unknown, sendHandle?: undefined, options?: undefined, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * Serves the primary's questions from a gateway worker: the worker's status listener does not
 * listen (the primary owns the status port), so `/readyz` and `/status` are answered by
 * injecting into the worker's own status app (the same code as a single process), and metrics
 * as prom-client JSON for the primary to aggregate. Returns a function that stops serving.
 */
export function serveWorkerLink(gateway: Gateway, channel: PrimaryChannel = process): () => void {
  const send = (answer: WorkerAnswer) => {
    // The primary may be gone (it exited); nothing to answer then.
    if (channel.send === undefined) return;
    try {
      // With a callback, a closed channel reports to it instead of emitting 'error' on process.
      channel.send(answer, undefined, undefined, () => undefined);
    } catch {
      /* channel closed */
    }
  };
  const onMessage = (message: unknown) => {
    if (!isTollgateMessage(message) || message.tollgate !== 'query') return;
    const q = message as WorkerQuery;
    void answer(gateway, q).then(send);
  };
  channel.on('message', onMessage);
  return () => channel.off('message', onMessage);
}

/** Tells the primary this worker serves (its proxy listens). */
export function announceWorkerReady(channel: PrimaryChannel = process): void {
  const ready: WorkerReady = { tollgate: 'ready' };
  channel.send?.(ready, undefined, undefined, () => undefined);
}

async function answer(gateway: Gateway, q: WorkerQuery): Promise<WorkerAnswer> {
  try {
    if (q.what === 'metrics') {
      return { tollgate: 'answer', id: q.id, statusCode: 200, body: gateway.metrics === null ? [] : await gateway.metrics.registry.getMetricsAsJSON() };
    }
    const res = await gateway.status.inject({ method: 'GET', url: q.what === 'readyz' ? '/readyz' : '/status' });
    return { tollgate: 'answer', id: q.id, statusCode: res.statusCode, body: res.json() as unknown };
  } catch {
    // The status app is closed once the worker's shutdown has passed the drain.
    return { tollgate: 'answer', id: q.id, statusCode: 503, body: { status: 'shutting_down' } };
  }
}
