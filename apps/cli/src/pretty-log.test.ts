import { describe, expect, it } from 'vitest';
import { prettyLine, usePretty } from './pretty-log.js';

describe('log format', () => {
  it.each([
    ['auto', true, true],
    ['auto', false, false],
    ['json', true, false],
    ['pretty', false, true],
  ] as const)('%s with a terminal=%s is pretty=%s', (format, tty, pretty) => {
    expect(usePretty(format, tty)).toBe(pretty);
  });

  it('prints time, level, message and the other fields; no epoch, no pid', () => {
    const time = new Date(2026, 11, 7, 3, 4, 5, 6).getTime();
    const line = JSON.stringify({ level: 30, time, pid: 1, hostname: 'h', service: 'tollgate', role: 'admin', address: 'http://127.0.0.1:8001', msg: 'admin API listening' });
    expect(prettyLine(line)).toBe('03:04:05.006 INFO  admin API listening role=admin address=http://127.0.0.1:8001\n');
    const warn = JSON.stringify({ level: 40, time, msg: 'x', detail: 'two words', n: 3, nested: { a: 1 } });
    expect(prettyLine(warn)).toBe('03:04:05.006 WARN  x detail="two words" n=3 nested={"a":1}\n');
    expect(prettyLine(warn, true)).toContain('\x1b[33mWARN \x1b[0m');
    expect(prettyLine('not json')).toBe('not json\n');
  });
});
