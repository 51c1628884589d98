import type { ComponentChildren } from 'preact';

/** The loading state of a screen or a card: announced to screen readers, no layout jump. */
export function Loading({ label }: { label: string }) {
  return (
    <div class="state" aria-busy="true" role="status">
      {label}
    </div>
  );
}

/** The error state: what went wrong, in the server's words, and a way to try again. */
export function ErrorState({ message, retry }: { message: string; retry?: () => void }) {
  return (
    <div class="state state-error" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" class="secondary" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** The empty state: a heading and what to do to fill it. */
export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state">
      <h2>{title}</h2>
      {children !== undefined && <p class="muted">{children}</p>}
    </div>
  );
}

/** A message for an error of any kind (ApiError carries the server's RFC 9457 detail). */
export function messageOf(err: unknown, fallback: string): string {
  return err instanceof Error && err.message !== '' ? err.message : fallback;
}
