import { useId } from 'preact/hooks';
import { CopyButton } from './copy-button.js';

/** A secret returned once by the server (a new API key or admin token): shown with a copy button and a warning, then gone. */
export function SecretOnce({ title, secret, warning, onDone }: { title: string; secret: string; warning: string; onDone: () => void }) {
  // Unique per instance: a consumer's page can show a new API key and a new client secret at once.
  const id = useId();
  return (
    <div class="secret-once" role="region" aria-label={title}>
      <h3>{title}</h3>
      <p class="warn-text">{warning}</p>
      <div class="secret-row">
        <code id={id} class="secret" data-testid="secret-value">
          {secret}
        </code>
        <CopyButton value={secret} label={`Copy ${title.toLowerCase()}`} targetId={id} />
      </div>
      <button type="button" class="primary" onClick={onDone}>
        I have stored it
      </button>
    </div>
  );
}
