import type { Registry } from 'prom-client';

/**
 * The IPC messages between the primary process and its gateway workers (WORKERS > 1, node:cluster).
 * Every message carries `tollgate` so it is never confused with node:cluster's own or another
 * library's messages on the same channel.
 */

/** What the primary may ask a worker: its `/readyz` or `/status` answer, or its metrics as JSON. */
export type WorkerQuestion = 'readyz' | 'status' | 'metrics';

/** Primary → worker. */
export interface WorkerQuery {
  readonly tollgate: 'query';
  readonly id: number;
  readonly what: WorkerQuestion;
}

/** Worker → primary: the answer to one {@link WorkerQuery}. */
export interface WorkerAnswer {
  readonly tollgate: 'answer';
  readonly id: number;
  /** HTTP status the worker's own status app gave (200 for metrics). */
  readonly statusCode: number;
  /** The JSON body, or the worker's metrics (prom-client `getMetricsAsJSON()`). */
  readonly body: unknown;
}

/** Worker → primary, once its proxy listens (its first snapshot is installed). */
export interface WorkerReady {
  readonly tollgate: 'ready';
}

export type WorkerMessage = WorkerAnswer | WorkerReady;

/** A worker's metrics as prom-client serializes them for aggregation. */
export type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** True for a message of this protocol (anything else on the channel is ignored). */
export function isTollgateMessage(m: unknown): m is { tollgate: string } {
  return typeof m === 'object' && m !== null && typeof (m as { tollgate?: unknown }).tollgate === 'string';
}
