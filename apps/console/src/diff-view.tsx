import type { ResourceDiff } from './config-api.js';

interface Props {
  diffs: readonly ResourceDiff[];
  /** Shown when nothing would change. */
  emptyText?: string;
}

const ACTION_LABEL = { create: 'created', update: 'changed', delete: 'deleted' } as const;

/** Unified diffs of an apply preview, one block per resource, additions and removals coloured. */
export function DiffView({ diffs, emptyText = 'Nothing would change: the stored configuration already matches.' }: Props) {
  if (diffs.length === 0) return <p class="notice" role="status">{emptyText}</p>;
  return (
    <div class="diffs">
      {diffs.map((d) => (
        <section class="card diff" key={`${d.kind}/${d.name}`} aria-label={`Diff of ${d.kind}/${d.name}`}>
          <header class="diff-head">
            <span class="name">
              {d.kind}/{d.name}
            </span>
            <span class={`badge badge-${d.action}`}>{ACTION_LABEL[d.action]}</span>
          </header>
          <pre class="diff-body">
            {patchLines(d.patch).map((line, i) => (
              <span key={i} class={`diff-line ${lineClass(line)}`}>
                {line}
                {'\n'}
              </span>
            ))}
          </pre>
        </section>
      ))}
    </div>
  );
}

/** The hunk lines of a patch, without the `Index:` / `===` / `---` / `+++` header lines. */
function patchLines(patch: string): string[] {
  const lines = patch.split('\n');
  const start = lines.findIndex((l) => l.startsWith('@@'));
  const body = start === -1 ? [] : lines.slice(start);
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  return body;
}

function lineClass(line: string): string {
  if (line.startsWith('@@')) return 'diff-hunk';
  if (line.startsWith('+')) return 'diff-add';
  if (line.startsWith('-')) return 'diff-del';
  return '';
}
