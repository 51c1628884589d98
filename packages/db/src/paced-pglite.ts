import type { PGlite, Transaction } from '@electric-sql/pglite';

/** What a paced client awaits before each statement (the stores pass model's `nextTurn`). */
export type StatementTurn = () => Promise<void>;

/**
 * A PGlite client whose statements each start in a turn of the event loop given by `turn`
 * (drizzle runs every statement through `query`, and through `transaction`'s `query` inside one).
 *
 * Why (#16): PGlite runs SQL synchronously in WebAssembly behind a promise API, so a chain of
 * awaited statements never reaches the event loop's poll phase: statement after statement (and
 * the statements of every other job whose promises settle meanwhile: the admin's apply, the
 * gateway's reload of the snapshot, the webhook dispatcher) ran in one microtask flush. A profile
 * of an embedded apply of 10,000 Apis under `bench:apply-stall` showed such flushes of 40-50 ms
 * of CPU holding requests. With a turn before each statement one uninterrupted piece is at most
 * one statement (and the COMMIT that PGlite issues after a transaction's last one).
 */
export function pacedPglite(client: PGlite, turn: StatementTurn): PGlite {
  return paced(client, turn);
}

function paced<C extends PGlite | Transaction>(target: C, turn: StatementTurn): C {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'query') {
        return async (...args: Parameters<C['query']>) => {
          await turn();
          return (t.query as (...a: Parameters<C['query']>) => ReturnType<C['query']>)(...args);
        };
      }
      if (prop === 'transaction' && 'transaction' in t) {
        const client = t as PGlite;
        return <T>(callback: (tx: Transaction) => Promise<T>) => client.transaction((tx) => callback(paced(tx, turn)));
      }
      // PGlite keeps its state in private fields: its own methods must run on the client itself.
      const value: unknown = Reflect.get(t, prop, t);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}
