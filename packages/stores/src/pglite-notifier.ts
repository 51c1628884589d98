import type { PGlite } from '@electric-sql/pglite';
import { CONFIG_CHANNEL, parseNotification, type ChangeNotifier } from './sql-config-store.js';

/** Notifications of an embedded PGlite: one process, one connection, so its own `listen()`. */
export class PgliteChangeNotifier implements ChangeNotifier {
  private readonly stops = new Set<() => Promise<void>>();

  constructor(private readonly client: PGlite) {}

  async listen(onVersion: (version: number) => void, onChangeSeq?: (seq: number) => void): Promise<() => Promise<void>> {
    const unlisten = await this.client.listen(CONFIG_CHANNEL, (payload) => {
      const n = parseNotification(payload);
      if (n === undefined) return;
      try {
        if ('version' in n) onVersion(n.version);
        else onChangeSeq?.(n.seq);
      } catch {
        // A faulty watcher must not break PGlite's notification dispatch for the others.
      }
    });
    const stop = async () => {
      if (!this.stops.delete(stop)) return;
      if (!this.client.closed) await unlisten();
    };
    this.stops.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    await Promise.all([...this.stops].map((stop) => stop()));
  }
}
