import { connect } from 'node:net';

/** What a raw HTTP/1.1 client saw of one exchange. */
export interface RawResult {
  /** Every byte received. */
  readonly data: Buffer;
  /** The status of the first status line, or null when none arrived. */
  readonly status: number | null;
  /** How the connection ended: the server closed it cleanly, reset it, or the client reset it. */
  readonly ended: 'end' | 'reset' | 'client-reset';
}

/** When the client resets its connection (RST, `socket.resetAndDestroy()`), if at all. */
export interface ResetWhen {
  /** Milliseconds after the request bytes were written. */
  readonly afterMs?: number;
  /** Once this many response bytes arrived. */
  readonly afterBytes?: number;
}

/**
 * Writes raw request bytes on a fresh connection and collects the answer until the connection
 * ends (send `Connection: close`), optionally resetting it from the client side first.
 */
export function rawExchange(port: number, request: string | Buffer, reset: ResetWhen = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    const socket = connect(port, '127.0.0.1');
    const finish = (ended: RawResult['ended']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const data = Buffer.concat(chunks);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.subarray(0, 16).toString('latin1'));
      resolve({ data, status: m === null ? null : Number(m[1]), ended });
    };
    const clientReset = () => {
      socket.resetAndDestroy();
      finish('client-reset');
    };
    const timer = reset.afterMs === undefined ? undefined : setTimeout(clientReset, reset.afterMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (reset.afterBytes !== undefined && n >= reset.afterBytes) clientReset();
    });
    socket.on('end', () => finish('end'));
    socket.on('error', () => finish('reset'));
    socket.on('close', () => finish('end'));
    socket.write(request);
  });
}

/** A GET request head that asks the server to close the connection after the answer. */
export function rawGet(path: string, headers: Record<string, string> = {}): string {
  let s = `GET ${path} HTTP/1.1\r\nhost: gw.test\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return `${s}\r\n`;
}

/** A request head with a body of `length` bytes of which only `sent` are written (the rest never comes). */
export function rawPartialUpload(path: string, length: number, sent: number, headers: Record<string, string> = {}): Buffer {
  let s = `POST ${path} HTTP/1.1\r\nhost: gw.test\r\nconnection: close\r\ncontent-length: ${length}\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return Buffer.concat([Buffer.from(`${s}\r\n`), Buffer.alloc(sent, 0x61)]);
}
