import { pino, type Logger } from 'pino';

/** A pino destination as far as the sink uses it. SonicBoom (pino.destination) has `flushSync`. */
interface LineStream {
  write(chunk: string): unknown;
  flushSync?(): void;
}

/**
 * How long a line may wait for others before the batch is handed to the destination, and how much
 * may wait. At 25,000 requests a second that is ~250 lines per write instead of a write every few
 * lines (each write a thread-pool job and its wake-ups, 5 % of a bare request's CPU).
 */
export const ACCESS_FLUSH_MS = 10;
export const ACCESS_FLUSH_BYTES = 64 * 1024;

/** Sinks with lines still to write: flushed synchronously when the process exits (one listener for all). */
const pending = new Set<AccessLineSink>();
let exitHooked = false;

function flushAllOnExit(): void {
  for (const sink of pending) sink.flushSync();
}

/**
 * Writes access-log lines exactly as the pino logger they come from would (`{"level":30,"time":…`,
 * its bindings, then the fields), without pino's generic serializer, and hands a destination
 * that writes asynchronously (SonicBoom, what `pino.destination({ sync: false })` gives) one
 * chunk per event-loop turn instead of one write per request (#16: the access log was about
 * 10 µs of a 48 µs bare request, most of it pino's per-key serializer and a file-system write per
 * few lines through libuv's thread pool). A line waits at most {@link ACCESS_FLUSH_MS} (less when
 * {@link ACCESS_FLUSH_BYTES} are waiting); on `process.exit` the remainder is written synchronously. Other destinations
 * (the pretty printer on a terminal, a test's stream) get each line as pino would, at once.
 */
export class AccessLineSink {
  readonly #head: string;
  readonly #time: () => string;
  /** The logger writes pino's default epoch time: the line's start is then kept per millisecond. */
  readonly #epochTime: boolean;
  readonly #bindings: string;
  /** `{"level":30,"time":<ms>` and the bindings, for the millisecond {@link #startAt} (epoch time only). */
  #start = '';
  #startAt = -1;
  readonly #stream: LineStream;
  readonly #batched: boolean;
  #buffer = '';
  #timer: NodeJS.Timeout | null = null;

  private constructor(logger: Logger, stream: LineStream) {
    const level = logger.levels.values.info ?? 30;
    this.#head = `{"level":${level}`;
    const time = (logger as unknown as Record<symbol, (() => string) | undefined>)[pino.symbols.timeSym];
    this.#time = time !== undefined ? time.bind(logger) : (): string => `,"time":${Date.now()}`;
    this.#epochTime = time === undefined || time === pino.stdTimeFunctions.epochTime;
    this.#bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
    this.#stream = stream;
    this.#batched = typeof stream.flushSync === 'function';
  }

  /**
   * The sink of a logger whose lines it can reproduce: a pino logger without a log formatter,
   * mixin, redaction, serializer (but `err`) or log-method hook (each would change the line); else null, and the caller
   * logs through the logger.
   */
  static of(logger: Logger): AccessLineSink | null {
    const l = logger as unknown as Record<symbol, unknown>;
    const stream = l[pino.symbols.streamSym] as LineStream | undefined;
    const formatters = l[pino.symbols.formattersSym] as { log?: unknown } | undefined;
    const hooks = l[pino.symbols.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
    if (stream === undefined || typeof stream.write !== 'function') return null;
    if (typeof l[pino.symbols.timeSym] !== 'function' || typeof l[pino.symbols.chindingsSym] !== 'string') return null;
    if (formatters?.log !== undefined || l[pino.symbols.mixinSym] !== undefined) return null;
    // Redaction and custom serializers work per key (redaction as stringifiers).
    const stringifiers = l[pino.symbols.stringifiersSym] as object | undefined;
    const serializers = l[pino.symbols.serializersSym] as object | undefined;
    if ((stringifiers !== undefined && Object.keys(stringifiers).length > 0) || (serializers !== undefined && Object.keys(serializers).some((k) => k !== 'err'))) return null;
    if (hooks?.logMethod !== undefined || hooks?.streamWrite !== undefined) return null;
    if (l[pino.symbols.messageKeySym] !== 'msg' || logger.levels.values.info !== 30) return null;
    return new AccessLineSink(logger, stream);
  }

  /** Writes one line; `fields` is `,"name":value…` (JSON members, each with its leading comma). */
  write(fields: string): void {
    const line = `${this.#lineStart()}${fields}}\n`;
    if (!this.#batched) {
      this.#stream.write(line);
      return;
    }
    this.#buffer += line;
    if (this.#buffer.length >= ACCESS_FLUSH_BYTES) {
      this.#flush();
      return;
    }
    if (this.#timer !== null) return;
    pending.add(this);
    if (!exitHooked) {
      exitHooked = true;
      // Before pino's own exit handler, which flushes and ends its destinations.
      process.prependListener('exit', flushAllOnExit);
    }
    // Unref'd: waiting lines never keep a process alive (the exit listener writes them).
    this.#timer = setTimeout(this.#flush, ACCESS_FLUSH_MS).unref();
  }

  /**
   * The line up to its fields. With pino's epoch time it is the same text for every line of one
   * millisecond (many at load): built once per millisecond instead of a number-to-text conversion
   * of the clock and three joins per line.
   */
  #lineStart(): string {
    if (!this.#epochTime) return `${this.#head}${this.#time()}${this.#bindings}`;
    const t = Date.now();
    if (t !== this.#startAt) {
      this.#startAt = t;
      this.#start = `${this.#head},"time":${t}${this.#bindings}`;
    }
    return this.#start;
  }

  /** Hands what is buffered to the destination (asynchronous write). */
  readonly #flush = (): void => {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    pending.delete(this);
    const chunk = this.#buffer;
    if (chunk === '') return;
    this.#buffer = '';
    this.#stream.write(chunk);
  };

  /** Hands what is buffered to the destination now (shutdown: before the destination is ended). */
  flush(): void {
    this.#flush();
  }

  /** Writes what is buffered synchronously (process exit): nothing stays behind. */
  flushSync(): void {
    this.#flush();
    try {
      this.#stream.flushSync?.();
    } catch {
      // A destination that is not open yet or already ended: pino's exit handler covers it.
    }
  }
}
