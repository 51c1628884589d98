import { useRef } from 'preact/hooks';
import type { ProblemItem } from './api.js';

interface Props {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  /** Issues of the last check; those with a `line` are marked in the gutter and listed. */
  issues: readonly ProblemItem[];
  readOnly?: boolean;
  rows?: number;
}

/**
 * A plain textarea with a line-number gutter: validation issues from the admin API (problem+json
 * `errors[].line`, 1-based lines of the submitted YAML) are marked on their lines, and each listed
 * issue moves the caret to its line. No editor library: a textarea keeps native keyboard,
 * selection, undo and screen-reader behaviour.
 */
export function YamlEditor({ id, label, value, onInput, issues, readOnly = false, rows = 24 }: Props) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lineCount = value.split('\n').length;
  const byLine = new Map<number, ProblemItem[]>();
  for (const issue of issues) if (issue.line !== undefined) byLine.set(issue.line, [...(byLine.get(issue.line) ?? []), issue]);
  const unplaced = issues.filter((i) => i.line === undefined);

  const goTo = (line: number) => {
    const el = area.current;
    if (!el) return;
    const lines = value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    // Bring the line into view: textareas have no scrollIntoView for a range.
    const lineHeight = el.scrollHeight / Math.max(lineCount, 1);
    el.scrollTop = Math.max(0, (line - 3) * lineHeight);
  };

  return (
    <div class="editor-wrap">
      <label for={id}>{label}</label>
      <div class={`editor${issues.length > 0 ? ' editor-invalid' : ''}`}>
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => (
            <div key={i} class={byLine.has(i + 1) ? 'gutter-line gutter-error' : 'gutter-line'} data-line={i + 1} title={byLine.get(i + 1)?.map((x) => x.message).join('\n')}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          id={id}
          ref={area}
          value={value}
          rows={rows}
          spellcheck={false}
          autoComplete="off"
          wrap="off"
          readOnly={readOnly}
          aria-invalid={issues.length > 0}
          aria-describedby={issues.length > 0 ? `${id}-issues` : undefined}
          onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = (e.target as HTMLTextAreaElement).scrollTop;
          }}
          onKeyDown={(e) => {
            // Tab inserts two spaces (YAML indentation); Escape then Tab leaves the editor (keyboard users are not trapped).
            if (e.key === 'Tab' && !e.shiftKey && !readOnly && !e.defaultPrevented && area.current && area.current.dataset.escaped !== 'true') {
              e.preventDefault();
              const el = area.current;
              const { selectionStart: s, selectionEnd: end } = el;
              const next = `${value.slice(0, s)}  ${value.slice(end)}`;
              onInput(next);
              requestAnimationFrame(() => el.setSelectionRange(s + 2, s + 2));
            }
            if (area.current) area.current.dataset.escaped = e.key === 'Escape' ? 'true' : 'false';
          }}
        />
      </div>
      <p class="hint">Tab indents by two spaces; press Escape, then Tab, to leave the editor.</p>
      {issues.length > 0 && (
        <ul class="issues" id={`${id}-issues`} aria-label="Validation errors">
          {[...byLine.entries()]
            .sort(([a], [b]) => a - b)
            .flatMap(([line, list]) =>
              list.map((issue, i) => (
                <li key={`${line}-${i}`}>
                  <button type="button" class="link" onClick={() => goTo(line)}>
                    Line {line}
                  </button>
                  <span>
                    {issue.path ? <code>{issue.path}</code> : null} {issue.message}
                  </span>
                </li>
              )),
            )}
          {unplaced.map((issue, i) => (
            <li key={`u-${i}`}>
              <span class="muted">{issue.resource ?? 'Document'}</span>
              <span>
                {issue.path ? <code>{issue.path}</code> : null} {issue.message}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
