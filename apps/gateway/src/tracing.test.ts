import { describe, expect, it } from 'vitest';
import { formatTraceparent, injectTrace, parseTraceparent, startTrace } from './tracing.js';

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PID = '00f067aa0ba902b7';

describe('parseTraceparent (W3C Trace Context §3.2)', () => {
  it('reads a valid version-00 header', () => {
    expect(parseTraceparent(`00-${TID}-${PID}-01`)).toEqual({ traceId: TID, parentId: PID, flags: '01' });
  });
  it.each([
    ['version ff', `ff-${TID}-${PID}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PID}-01`],
    ['all-zero parent id', `00-${TID}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${TID.slice(1)}-${PID}-01`],
    ['long version-00 value', `00-${TID}-${PID}-01-extra`],
    ['upper-case hex', `00-${TID.toUpperCase()}-${PID}-01`],
    ['non-hex', `00-${TID.replace('4', 'g')}-${PID}-01`],
    ['wrong separator', `00_${TID}-${PID}-01`],
  ])('rejects %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });
  it('rejects a repeated header and a missing one', () => {
    expect(parseTraceparent([`00-${TID}-${PID}-01`, `00-${TID}-${PID}-01`])).toBeNull();
    expect(parseTraceparent(undefined)).toBeNull();
  });
  it('reads the known fields of a future version with more fields', () => {
    expect(parseTraceparent(`cc-${TID}-${PID}-01-what-the-future-holds`)).toEqual({ traceId: TID, parentId: PID, flags: '01' });
  });
});

describe('startTrace / injectTrace', () => {
  it('continues the trace with a new span id, keeping the sampled flag', () => {
    const t = startTrace(`00-${TID}-${PID}-00`);
    expect(t.traceId).toBe(TID);
    expect(t.parentSpanId).toBe(PID);
    expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(t.spanId).not.toBe(PID);
    expect(formatTraceparent(t)).toBe(`00-${TID}-${t.upstreamSpanId}-00`);
    expect(t.upstreamSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(t.upstreamSpanId).not.toBe(t.spanId);
  });
  it('starts a new trace when the header is invalid, with distinct ids each time', () => {
    const a = startTrace(`ff-${TID}-${PID}-01`);
    const b = startTrace(undefined);
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.traceId).not.toBe(TID);
    expect(a.traceId).not.toBe(b.traceId);
    expect(a.parentSpanId).toBeNull();
  });
  it('draws every id of a request from its own random bytes, across refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const t = i % 3 === 0 ? startTrace(`00-${TID}-${PID}-01`) : startTrace(undefined);
      expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(t.upstreamSpanId).toMatch(/^[0-9a-f]{16}$/);
      for (const id of i % 3 === 0 ? [t.spanId, t.upstreamSpanId] : [t.traceId, t.spanId, t.upstreamSpanId]) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
      // No id is another's bytes seen again (parts of one conversion never overlap).
      expect(t.traceId.includes(t.spanId) || t.traceId.includes(t.upstreamSpanId)).toBe(false);
    }
  });
  it('drops a tracestate that belongs to no valid traceparent', () => {
    const out: Record<string, string> = { tracestate: 'vendor=x' };
    injectTrace(out, startTrace('garbage'));
    expect(out.tracestate).toBeUndefined();
    const kept: Record<string, string> = { tracestate: 'vendor=x' };
    injectTrace(kept, startTrace(`00-${TID}-${PID}-01`));
    expect(kept.tracestate).toBe('vendor=x');
  });
});
