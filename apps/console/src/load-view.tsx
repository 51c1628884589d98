import type { ComponentChildren } from 'preact';
import type { Load } from './load-state.js';

interface Props<T> {
  state: Load<T>;
  /** What is loading, e.g. "gateway nodes". */
  what: string;
  retry: () => void;
  children: (data: T) => ComponentChildren;
}

/** The loading and error states every screen shares; `children` renders the loaded data (and its own empty state). */
export function LoadView<T>({ state, what, retry, children }: Props<T>) {
  if (state.kind === 'loading')
    return (
      <div class="state" aria-busy="true" role="status">
        Loading {what}…
      </div>
    );
  if (state.kind === 'error')
    return (
      <div class="state state-error" role="alert">
        <p>
          The {what} could not be loaded: {state.message}
        </p>
        <button type="button" class="secondary" onClick={retry}>
          Try again
        </button>
      </div>
    );
  return <>{children(state.data)}</>;
}
