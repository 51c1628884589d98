import { useState } from 'preact/hooks';
import { ApiError, type ProblemItem } from './api.js';
import { applyDocuments, applyYaml, importOpenApi, type ApplyResult, type Change, type ResourceDiff, type Warning } from './config-api.js';
import { DiffView } from './diff-view.js';
import { hrefOf } from './hash-route.js';
import { WarningsList } from './warnings-list.js';
import { YamlEditor } from './yaml-editor.js';

type Format = 'kubernetes' | 'openapi';

interface Preview {
  text: string;
  format: Format;
  warnings: Warning[];
  diff: ResourceDiff[];
}

/** Largest file read from disk (the admin API's body limit is of the same order). */
const MAX_FILE_BYTES = 5 * 1024 * 1024;

/** An OpenAPI document says so in its first key; anything else is taken as Kubernetes / Istio / Gateway API YAML. */
export function detectFormat(text: string): Format {
  return /^\s*(?:["']?openapi["']?\s*:|\{\s*"openapi"\s*:)/m.test(text) ? 'openapi' : 'kubernetes';
}

/**
 * The Import screen: paste or upload Kubernetes Ingress, Istio, Gateway API YAML or an OpenAPI
 * document, preview (warnings and the diff against what is stored, nothing committed), then apply.
 */
export function ImportScreen({ canWrite }: { canWrite: boolean }) {
  const [text, setText] = useState('');
  const [preview, setPreview] = useState<Preview | undefined>();
  const [busy, setBusy] = useState<'preview' | 'apply' | undefined>();
  const [issues, setIssues] = useState<readonly ProblemItem[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [applied, setApplied] = useState<{ version: number; apis: string[] } | undefined>();
  const format = detectFormat(text);

  const reset = (value: string) => {
    setText(value);
    setPreview(undefined);
    setApplied(undefined);
  };
  const fail = (err: unknown) => {
    setError(err instanceof ApiError ? err.message : 'The request failed.');
    setIssues(err instanceof ApiError ? err.errors : []);
  };
  const upload = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      setError(`${file.name} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB.`);
      return;
    }
    setError(undefined);
    reset(await file.text());
  };
  const runPreview = async () => {
    setBusy('preview');
    setError(undefined);
    setIssues([]);
    setApplied(undefined);
    try {
      if (format === 'openapi') {
        const imported = await importOpenApi(text, true);
        // The generated resources through the same dry run as any apply, for the diff.
        const dry = await applyDocuments(imported.resources, true);
        setPreview({ text, format, warnings: imported.warnings, diff: dry.diff });
      } else {
        const dry = await applyYaml(text, true);
        setPreview({ text, format, warnings: dry.warnings, diff: dry.diff });
      }
    } catch (err) {
      setPreview(undefined);
      fail(err);
    } finally {
      setBusy(undefined);
    }
  };
  const runApply = async () => {
    if (preview === undefined) return;
    setBusy('apply');
    setError(undefined);
    try {
      let changes: Change[];
      let version: number;
      if (preview.format === 'openapi') {
        const r = await importOpenApi(preview.text, false);
        changes = r.changes;
        version = r.version;
      } else {
        const r: ApplyResult = await applyYaml(preview.text, false);
        changes = r.changes;
        version = r.version;
      }
      setApplied({ version, apis: changes.filter((c) => c.kind === 'Api' && c.action !== 'delete').map((c) => c.name) });
      setPreview(undefined);
    } catch (err) {
      fail(err);
    } finally {
      setBusy(undefined);
    }
  };

  if (!canWrite)
    return (
      <section aria-labelledby="import-title">
        <div class="page-head">
          <h1 id="import-title">Import</h1>
        </div>
        <div class="state">
          <h2>Importing needs the operator or admin role</h2>
          <p class="muted">Your role can read the configuration but not change it.</p>
        </div>
      </section>
    );

  const current = preview !== undefined && preview.text === text;
  return (
    <section aria-labelledby="import-title">
      <div class="page-head">
        <h1 id="import-title">Import</h1>
        <span class="count">Kubernetes Ingress · Istio · Gateway API · OpenAPI 3</span>
      </div>
      <div class="card form-card">
        <div class="upload-row">
          <label for="import-file">Upload a file</label>
          <input id="import-file" type="file" accept=".yaml,.yml,.json,application/yaml,application/json" onChange={(e) => void upload(e.target as HTMLInputElement)} />
          <span class="muted">
            or paste below. Detected: <strong>{text.trim() === '' ? 'nothing yet' : format === 'openapi' ? 'OpenAPI document' : 'Kubernetes / Istio / Gateway API / Tollgate YAML'}</strong>
          </span>
        </div>
        <YamlEditor id="import-text" label="Documents to import" value={text} onInput={reset} issues={issues} rows={18} />
      {error !== undefined && (
        <p class="error" role="alert">
          {issues.some((i) => i.line !== undefined) ? `Not applied: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the YAML, marked on ${issues.length === 1 ? 'its line' : 'their lines'} above.` : error}
        </p>
      )}
        <div class="actions">
          <button type="button" class="secondary" onClick={runPreview} disabled={busy !== undefined || text.trim() === ''}>
            {busy === 'preview' ? 'Checking…' : 'Preview import'}
          </button>
          <button type="button" class="primary" onClick={runApply} disabled={busy !== undefined || !current || preview?.diff.length === 0} title={current ? undefined : 'Preview the import first'}>
            {busy === 'apply' ? 'Applying…' : 'Apply import'}
          </button>
        </div>
        {applied !== undefined && (
          <p class="notice" role="status">
            Imported: configuration version {applied.version}.{' '}
            {applied.apis.map((name) => (
              <a key={name} href={hrefOf('apis', name)} class="inline-link">
                Open {name}
              </a>
            ))}
          </p>
        )}
      </div>
      {current && preview !== undefined && (
        <div class="preview" aria-live="polite">
          <h2 class="section-title">Changes if applied (dry run)</h2>
          <WarningsList warnings={preview.warnings} />
          <DiffView diffs={preview.diff} />
        </div>
      )}
    </section>
  );
}
