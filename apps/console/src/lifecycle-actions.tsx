import { useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { transition, type LifecycleState } from './config-api.js';
import { ConfirmDialog } from './confirm-dialog.js';

/** Transitions the admin API allows from each state (packages/model lifecycle.ts). */
const NEXT: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  draft: ['published', 'retired'],
  published: ['deprecated', 'retired'],
  deprecated: ['published', 'retired'],
  retired: [],
};

const VERB: Readonly<Record<LifecycleState, string>> = { draft: 'Move to draft', published: 'Publish', deprecated: 'Deprecate', retired: 'Retire' };

/** What a transition does to callers, in the words the confirmation shows (docs/lifecycle.md). */
export function consequenceOf(name: string, from: LifecycleState, to: LifecycleState): string {
  if (to === 'retired') return `Retired answers 410 Gone to every caller of ${name}, on every route. Nothing leaves retired: this cannot be undone.`;
  if (to === 'deprecated') return `${name} keeps serving, and every answer carries a Deprecation header (RFC 9745), plus Sunset (RFC 8594) once a sunset date is set, telling callers to move on.`;
  if (to === 'published' && from === 'deprecated') return `${name} stops sending the Deprecation and Sunset headers; callers see it as a current API again.`;
  return `${name} starts answering every caller its plans admit; until now only preview consumers could reach it.`;
}

interface Props {
  name: string;
  state: LifecycleState;
  canWrite: boolean;
  onChanged: () => void;
}

/** The lifecycle buttons of an API page; each asks for confirmation naming the consequence. */
export function LifecycleActions({ name, state, canWrite, onChanged }: Props) {
  const [target, setTarget] = useState<LifecycleState | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  if (!canWrite || NEXT[state].length === 0) return null;

  const confirm = async () => {
    if (target === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      await transition(name, target);
      setTarget(undefined);
      onChanged();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The transition failed.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="lifecycle-actions">
      {NEXT[state].map((to) => (
        <button type="button" key={to} class={to === 'retired' ? 'danger-outline' : 'secondary'} onClick={() => setTarget(to)}>
          {VERB[to]}
        </button>
      ))}
      {target !== undefined && (
        <ConfirmDialog title={`${VERB[target]} ${name}?`} confirmLabel={VERB[target]} danger={target === 'retired'} busy={busy} onConfirm={confirm} onCancel={() => (setTarget(undefined), setError(undefined))}>
          <p>{consequenceOf(name, state, target)}</p>
          {error !== undefined && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
