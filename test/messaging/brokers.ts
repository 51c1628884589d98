import { randomBytes } from 'node:crypto';

/** The machine's shared brokers (never stopped by tests: other files use them in parallel). */
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/** A prefix unique to this test run, so subjects, queues and topics never meet another run's. */
export function runId(label: string): string {
  return `tg${label}${randomBytes(5).toString('hex')}`;
}

/** Reads a Server-Sent Events stream into events until `until` holds or the deadline passes. */
export async function readEvents(res: Response, until: (events: SseEvent[]) => boolean, timeoutMs = 10_000): Promise<SseEvent[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(events)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([reader.read(), new Promise<{ done: true; value: undefined }>((resolve) => (timer = setTimeout(() => resolve({ done: true, value: undefined }), left)))]);
      clearTimeout(timer);
      if (r.done) break;
      buf += decoder.decode(r.value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const e: SseEvent = { id: null, event: 'message', data: '' };
        const data: string[] = [];
        let any = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':') || line === '') continue;
          const c = line.indexOf(':');
          const field = c === -1 ? line : line.slice(0, c);
          const value = c === -1 ? '' : line.slice(c + 1).replace(/^ /, '');
          if (field === 'id') e.id = value;
          else if (field === 'event') e.event = value;
          else if (field === 'data') data.push(value);
          else continue;
          any = true;
        }
        if (!any || data.length === 0) continue;
        e.data = data.join('\n');
        events.push(e);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}
