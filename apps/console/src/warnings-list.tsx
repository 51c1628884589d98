import type { Warning } from './config-api.js';

/** Warnings of an apply or import: what the documents ask for that Tollgate does not do as asked. */
export function WarningsList({ warnings }: { warnings: readonly Warning[] }) {
  if (warnings.length === 0) return null;
  return (
    <div class="warnings" role="region" aria-label="Warnings">
      <h4>
        {warnings.length} warning{warnings.length === 1 ? '' : 's'}
      </h4>
      <ul>
        {warnings.map((w, i) => (
          <li key={i}>
            {w.resource !== undefined && <span class="muted">{w.resource} </span>}
            {(w.path ?? w.pointer) ? <code>{w.path ?? w.pointer}</code> : null} {w.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
