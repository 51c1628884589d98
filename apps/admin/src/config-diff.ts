import { createTwoFilesPatch } from 'diff';
import { toYaml, type Resource } from '@tollgate/model';
import type { ResourceChange } from '@tollgate/stores';
import { z } from 'zod';
import { toDocument } from './documents.js';

/** Lines of context around each change in a patch (as `diff -u` and `tollgate diff`). */
const CONTEXT_LINES = 3;

/** One changed resource of an apply as a unified diff (stored YAML -> resulting YAML). */
export const resourceDiffSchema = z.object({
  kind: z.string(),
  name: z.string(),
  action: z.enum(['create', 'update', 'delete']),
  patch: z.string().describe('Unified diff from `live/<Kind>/<name>` to `merged/<Kind>/<name>`, as `tollgate diff` prints it; secrets show as the redaction marker.'),
});

/** One entry of `diff` in the `POST /config` response. */
export type ResourceDiff = z.infer<typeof resourceDiffSchema>;

/** YAML of one resource as exports show it (schema key order, secrets redacted), '' for an absent one. */
function yamlOf(resource: Resource | undefined): string {
  return resource ? toYaml([toDocument(resource)]).replace(/^---\n/, '') : '';
}

/**
 * The unified diff of every resource an apply creates, updates or deletes (unchanged ones are
 * left out). Both sides go through {@link toDocument}, so key order, filled defaults and redacted
 * secrets are the same on both sides and only real differences show.
 */
export function diffChanges(changes: readonly ResourceChange[]): ResourceDiff[] {
  const out: ResourceDiff[] = [];
  for (const c of changes) {
    if (c.action === 'unchanged') continue;
    const key = `${c.kind}/${c.name}`;
    const before = yamlOf(c.before);
    const after = c.action === 'delete' ? '' : yamlOf(c.after);
    out.push({ kind: c.kind, name: c.name, action: c.action, patch: createTwoFilesPatch(`live/${key}`, `merged/${key}`, before, after, undefined, undefined, { context: CONTEXT_LINES }) });
  }
  return out;
}
