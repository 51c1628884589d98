import { randomFillSync } from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/, level 1): the gateway continues the
 * client's trace (same trace-id) as a new span (its own parent-id sent upstream), or starts a new
 * trace when the client sent none or an invalid `traceparent`.
 */
export interface TraceContext {
  /** 32 lowercase hex digits, never all zero. */
  readonly traceId: string;
  /** The gateway's server span id (16 lowercase hex digits). */
  readonly spanId: string;
  /**
   * The id of the gateway's client span for the upstream call, a child of `spanId`: the
   * `parent-id` the upstream receives, so the upstream's own span hangs under the call.
   */
  readonly upstreamSpanId: string;
  /** The client's span id, or null when the trace started here. */
  readonly parentSpanId: string | null;
  /** trace-flags (2 hex digits); the sampled bit is kept from the client (§3.2.2.5). */
  readonly flags: string;
}

const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

// Random ids come from one pooled buffer: one crypto call per 64 new traces.
const POOL = Buffer.alloc(32 * 64);
let poolOffset = POOL.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const s = POOL.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return s;
}

/** A new random span id (8 bytes, §3.2.2.4); all-zero is invalid and retried. */
export function newSpanId(): string {
  let id = randomHex(8);
  while (id === ZERO_SPAN) id = randomHex(8);
  return id;
}

/** A new random trace id (16 bytes, §3.2.2.3). */
export function newTraceId(): string {
  let id = randomHex(16);
  while (id === ZERO_TRACE) id = randomHex(16);
  return id;
}

/**
 * Parses a `traceparent` value. Version `00` must be exactly 55 characters; a higher version may
 * carry more fields after a dash, and its first four fields are read (§4.3 "future versions").
 * Version `ff`, all-zero ids, wrong lengths, upper-case or non-hex digits are invalid (§3.2.2).
 */
export function parseTraceparent(value: string | string[] | undefined): { traceId: string; parentId: string; flags: string } | null {
  // More than one traceparent header is invalid (§3.2.1: the header is a single value).
  if (typeof value !== 'string') return null;
  const v = value.trim();
  if (v.length < 55) return null;
  const version = v.slice(0, 2);
  if (!HEX.test(version) || version === 'ff') return null;
  if (version === '00' ? v.length !== 55 : v.length > 55 && v[55] !== '-') return null;
  if (v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return null;
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  if (!HEX.test(traceId) || !HEX.test(parentId) || !HEX.test(flags)) return null;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return null;
  return { traceId, parentId, flags };
}

/** Continues the client's trace or starts one (sampled: the gateway records every request). */
export function startTrace(traceparent: string | string[] | undefined): TraceContext {
  // The request's ids come from one hex conversion (32 bytes for a new trace, 16 to continue one),
  // cut into its parts, rather than one per id; an all-zero part (invalid, §3.2.2) is redrawn.
  const p = traceparent === undefined ? null : parseTraceparent(traceparent);
  if (p === null) {
    const hex = randomHex(32);
    const traceId = hex.slice(0, 32);
    const spanId = hex.slice(32, 48);
    const upstreamSpanId = hex.slice(48, 64);
    return { traceId: traceId === ZERO_TRACE ? newTraceId() : traceId, spanId: spanId === ZERO_SPAN ? newSpanId() : spanId, upstreamSpanId: upstreamSpanId === ZERO_SPAN ? newSpanId() : upstreamSpanId, parentSpanId: null, flags: '01' };
  }
  const hex = randomHex(16);
  const spanId = hex.slice(0, 16);
  const upstreamSpanId = hex.slice(16, 32);
  // Only the sampled bit is defined in version 00; other bits are not propagated (§3.2.2.5).
  return { traceId: p.traceId, spanId: spanId === ZERO_SPAN ? newSpanId() : spanId, upstreamSpanId: upstreamSpanId === ZERO_SPAN ? newSpanId() : upstreamSpanId, parentSpanId: p.parentId, flags: (parseInt(p.flags, 16) & 1) === 1 ? '01' : '00' };
}

/** The `traceparent` the upstream receives: same trace-id, the gateway's upstream-call span as parent-id. */
export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.upstreamSpanId}-${t.flags}`;
}

/**
 * Sets `traceparent` on the upstream request headers. `tracestate` is forwarded unchanged with
 * the other end-to-end headers: the gateway adds no vendor entry of its own (§3.3.1.1 allows it).
 * A `tracestate` without a valid `traceparent` belongs to no trace and is dropped (§3.3).
 */
export function injectTrace(out: Record<string, string | string[] | undefined>, t: TraceContext | null): void {
  if (t === null) return;
  out.traceparent = formatTraceparent(t);
  if (t.parentSpanId === null && out.tracestate !== undefined) delete out.tracestate;
}
