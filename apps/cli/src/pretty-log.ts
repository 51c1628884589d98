import type { DestinationStream } from 'pino';

/** pino's numeric levels and the names a reader expects. */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '\x1b[90m', 20: '\x1b[36m', 30: '\x1b[32m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[35m' };
/** Fields every line has; shown in the prefix or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/** `json` for machines, `pretty` for people; `auto` picks pretty on a terminal only. */
export type LogFormat = 'auto' | 'json' | 'pretty';

export function usePretty(format: LogFormat, isTty: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && isTty);
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/**
 * One pino JSON line as `12:00:01.234 INFO  admin API listening address=http://…`: local time,
 * level, message, then the other fields as key=value. A line that is not JSON passes as it is.
 */
export function prettyLine(line: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = typeof entry.time === 'number' ? new Date(entry.time) : new Date();
  const clock = `${String(time.getHours()).padStart(2, '0')}:${String(time.getMinutes()).padStart(2, '0')}:${String(time.getSeconds()).padStart(2, '0')}.${String(time.getMilliseconds()).padStart(3, '0')}`;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  const lvl = color ? `${COLORS[level] ?? ''}${name}\x1b[0m` : name;
  return `${clock} ${lvl} ${typeof entry.msg === 'string' ? entry.msg : ''}${fields ? ` ${fields}` : ''}\n`;
}

/** A pino destination that prints each line pretty on `out` (a terminal: writes are synchronous). */
export function prettyDestination(out: NodeJS.WriteStream = process.stdout): DestinationStream {
  const color = out.isTTY === true && !process.env.NO_COLOR;
  return { write: (line: string) => void out.write(prettyLine(line, color)) };
}
