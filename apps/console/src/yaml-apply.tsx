import { useState } from 'preact/hooks';
import { ApiError, type ProblemItem } from './api.js';
import { applyYaml, type ApplyResult } from './config-api.js';
import { DiffView } from './diff-view.js';
import { WarningsList } from './warnings-list.js';
import { YamlEditor } from './yaml-editor.js';

interface Props {
  id: string;
  label: string;
  initial: string;
  canWrite: boolean;
  /** Called after a committed apply, with its result. */
  onApplied: (result: ApplyResult) => void;
}

type Step = { kind: 'editing' } | { kind: 'checking' } | { kind: 'previewed'; text: string; result: ApplyResult } | { kind: 'applying' } | { kind: 'applied'; result: ApplyResult };

/**
 * YAML in an editor with "Preview changes" (a dry run: validation errors on their lines, the
 * diff against what is stored) and "Apply", offered only for the exact text just previewed.
 */
export function YamlApply({ id, label, initial, canWrite, onApplied }: Props) {
  const [text, setText] = useState(initial);
  const [step, setStep] = useState<Step>({ kind: 'editing' });
  const [issues, setIssues] = useState<readonly ProblemItem[]>([]);
  const [error, setError] = useState<string | undefined>();

  const edit = (value: string) => {
    setText(value);
    if (step.kind === 'previewed' || step.kind === 'applied') setStep({ kind: 'editing' });
  };
  const fail = (err: unknown) => {
    setStep({ kind: 'editing' });
    setError(err instanceof ApiError ? err.message : 'The request failed.');
    setIssues(err instanceof ApiError ? err.errors : []);
  };
  const preview = async () => {
    setStep({ kind: 'checking' });
    setError(undefined);
    setIssues([]);
    try {
      setStep({ kind: 'previewed', text, result: await applyYaml(text, true) });
    } catch (err) {
      fail(err);
    }
  };
  const apply = async () => {
    if (step.kind !== 'previewed') return;
    setStep({ kind: 'applying' });
    try {
      const result = await applyYaml(step.text, false);
      setStep({ kind: 'applied', result });
      onApplied(result);
    } catch (err) {
      fail(err);
    }
  };
  const previewed = step.kind === 'previewed' && step.text === text;

  return (
    <div class="yaml-apply">
      <YamlEditor id={id} label={label} value={text} onInput={edit} issues={issues} readOnly={!canWrite} />
      {error !== undefined && (
        <p class="error" role="alert">
          {issues.some((i) => i.line !== undefined) ? `Not applied: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the YAML, marked on ${issues.length === 1 ? 'its line' : 'their lines'} above.` : error}
        </p>
      )}
      {canWrite ? (
        <div class="actions">
          <button type="button" class="secondary" onClick={preview} disabled={step.kind === 'checking' || step.kind === 'applying'}>
            {step.kind === 'checking' ? 'Checking…' : 'Preview changes'}
          </button>
          <button type="button" class="primary" onClick={apply} disabled={!previewed || (step.kind === 'previewed' && step.result.diff.length === 0)} title={previewed ? undefined : 'Preview the changes first'}>
            {step.kind === 'applying' ? 'Applying…' : 'Apply'}
          </button>
          {step.kind === 'applied' && (
            <span class="ok-text" role="status">
              Applied: configuration version {step.result.version}.
            </span>
          )}
        </div>
      ) : (
        <p class="muted">Your role can read this configuration but not change it.</p>
      )}
      {step.kind === 'previewed' && (
        <div class="preview" aria-live="polite">
          <h3>Changes if applied (dry run)</h3>
          <WarningsList warnings={step.result.warnings} />
          <DiffView diffs={step.result.diff} />
        </div>
      )}
    </div>
  );
}
