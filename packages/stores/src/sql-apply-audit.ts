import { nextTurn, redactSecrets, type Resource } from '@tollgate/model';
import type { AuditContext, ResourceChange } from './config-store.js';
import { batches, writeAudit, type Tx } from './sql-tx.js';


/** Changed resources whose before/after one audit entry holds; a larger apply writes one entry per part. */
export const AUDIT_PART = 100;

/**
 * The audit entry of an apply, with the before/after of every changed resource. An apply of
 * 10,000 Apis holds about 5 MB of them: written as one row (and redacted in one go) it held an
 * embedded store's event loop, shared with the gateway, for seconds (#16). Past
 * {@link AUDIT_PART} changed resources it is written as parts of that many, each its own row with
 * the same action, actor and request id and a `detail` of `part i of n`, with an event-loop turn
 * between parts: the log stays complete (the parts together name every change) and readable
 * (each page of GET /audit-log holds rows of a bounded size).
 */
export async function writeApplyAudit(tx: Tx, audit: AuditContext, changes: readonly ResourceChange[]): Promise<void> {
  const changed = changes.filter((c) => c.action !== 'unchanged');
  if (changed.length <= AUDIT_PART) {
    await writeAudit(tx, { ...audit, outcome: 'success', ...auditStates(changes) });
    return;
  }
  const parts = batches(changed, AUDIT_PART);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as ResourceChange[];
    await nextTurn();
    await writeAudit(tx, { ...audit, outcome: 'success', detail: `part ${i + 1} of ${parts.length}: ${part.length} of ${changed.length} changed resources`, ...auditStates(part) });
  }
}

/** Before/after of the changed resources, keyed by `Kind/name`, for the audit log. */
function auditStates(changes: readonly ResourceChange[]): { before: Record<string, Resource>; after: Record<string, Resource> } {
  const before: Record<string, Resource> = {};
  const after: Record<string, Resource> = {};
  for (const c of changes) {
    if (c.action === 'unchanged') continue;
    // The model's secret slots first (Webhook header values have no secret-looking field name),
    // then the audit writer's name-based redaction.
    if (c.before) before[`${c.kind}/${c.name}`] = redactSecrets(c.before);
    if (c.after && c.action !== 'delete') after[`${c.kind}/${c.name}`] = redactSecrets(c.after);
  }
  return { before, after };
}
