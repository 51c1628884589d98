import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

/** What a screen shows while its data loads, failed, or arrived. */
export type Load<T> = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; data: T };

/**
 * Loads `fetcher()` on mount (and every `refreshMs` when given, keeping the last data on screen
 * while refreshing); `reload` starts over. Errors carry the admin API's problem detail.
 */
export function useLoad<T>(fetcher: () => Promise<T>, deps: unknown[] = [], refreshMs?: number): [Load<T>, () => void] {
  const [state, setState] = useState<Load<T>>({ kind: 'loading' });
  const run = useCallback((quiet: boolean) => {
    if (!quiet) setState({ kind: 'loading' });
    fetcher()
      .then((data) => setState({ kind: 'loaded', data }))
      .catch((err: unknown) => {
        // A background refresh that fails keeps what is on screen; the next one may succeed.
        if (!quiet) setState({ kind: 'error', message: err instanceof ApiError ? err.message : 'The data could not be loaded.' });
      });
  }, deps);
  useEffect(() => {
    run(false);
    if (refreshMs === undefined) return;
    const timer = setInterval(() => run(true), refreshMs);
    return () => clearInterval(timer);
  }, [run, refreshMs]);
  return [state, () => run(false)];
}
