import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stagesOf } from '../../bench/callgrind-stages.mjs';

// A callgrind profile of one socket read, as `npm run bench:instructions` splits it: libuv calls
// Node's stream read (JIT code, named only through V8's perf map), which calls undici's parser
// callback (the exchange) and the proxy listener; undici's callback writes the answer through the
// streamed answer's sink (the respond stage), and both the sink and the listener call Node's
// socket write. A timer's store probe calls the Redis client.
const dir = mkdtempSync(join(tmpdir(), 'callgrind-stages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const perfMap = join(dir, 'perf.map');
writeFileSync(
  perfMap,
  [
    // An older code object at 0x2000, replaced by undici's: the latest entry names the address.
    '2000 100 JS:*record file:///x/apps/gateway/dist/stages/account.js:1:1',
    '1000 80 JS:*onStreamRead node:internal/stream_base_commons:160:22',
    '2000 80 JS:*onData file:///x/node_modules/undici/lib/dispatcher/client-h1.js:1:1',
    '3000 80 JS:*handle file:///x/apps/gateway/dist/proxy.js:1:1',
    '4000 80 JS:*start file:///x/apps/gateway/dist/stages/forward-dispatch.js:61:10',
    '5000 80 JS:*_writeGeneric node:net:900:1',
    '6000 80 JS:^ping file:///x/packages/stores/dist/redis-counter-store.js:183:19',
    '7000 80 JS:^sendCommand /x/node_modules/ioredis/built/Redis.js:354:16',
    '',
  ].join('\n'),
);

const profile = join(dir, 'callgrind.out');
writeFileSync(
  profile,
  [
    'version: 1',
    'creator: test',
    'positions: line',
    'events: Ir',
    '',
    'ob=(1) /usr/bin/node',
    'fl=(1) ???',
    'fn=(1) uv_run',
    '0 10',
    'cfn=(7) 0x0000000000006000',
    'calls=1 0',
    '0 30',
    'cfn=(2) 0x0000000000001000',
    'calls=1 0',
    '0 990',
    'fn=(2)',
    '0 40',
    'cfn=(3) 0x0000000000002010',
    'calls=1 0',
    '0 500',
    'cfn=(4) 0x0000000000003000',
    'calls=1 0',
    '0 450',
    'fn=(3)',
    '0 100',
    'cfn=(5) 0x0000000000004000',
    'calls=1 0',
    '0 400',
    'fn=(5)',
    '0 150',
    "cfn=(6) 0x0000000000005000'2",
    'calls=1 0',
    '0 250',
    'fn=(4)',
    '0 200',
    'cfn=(6)',
    'calls=1 0',
    '0 250',
    'fn=(6)',
    '0 500',
    'fn=(7)',
    '0 10',
    'cfn=(8) 0x0000000000007000',
    'calls=1 0',
    '0 20',
    'fn=(8)',
    '0 20',
    'totals: 1030',
    '',
  ].join('\n'),
);

describe('bench/callgrind-stages', () => {
  const r = stagesOf(profile, perfMap, 'stages', 10);

  it('keeps every instruction: the split adds up to the total', () => {
    expect(r.total).toBe(103);
    expect(Object.values(r.perRequest).reduce((a, b) => a + b, 0)).toBeCloseTo(103, 9);
  });

  it('charges a stage called inside another to itself, and what no stage called to Node or other', () => {
    expect(r.perRequest.other).toBeCloseTo(1, 9); // uv_run
    expect(r.perRequest.node).toBeCloseTo(4, 9); // the stream read outside any stage
    expect(r.perRequest.exchange).toBeCloseTo(10, 9); // undici (weak) takes over Node's context
  });

  it("splits a shared callee by its callers' call costs, and Node's write stays with the stage that called it", () => {
    expect(r.perRequest.respond).toBeCloseTo(15 + 25, 9);
    expect(r.perRequest.listener).toBeCloseTo(20 + 25, 9);
    expect(r.perRequest.account).toBe(0);
  });

  it('keeps timer work (the store probe) out of the stages, the Redis client it calls included', () => {
    expect(r.perRequest.background).toBeCloseTo(3, 9);
    expect(r.perRequest.access).toBe(0);
  });

  it('names the top functions of a stage from the perf map', () => {
    expect(r.top.exchange?.[0]?.[0]).toMatch(/undici\/lib\/dispatcher\/client-h1\.js/);
  });
});
