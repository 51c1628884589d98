import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonDocumentsWithin, parseYamlDocuments, redactSecrets } from '@tollgate/model';
import type { AuditContext, AuditOutcome, AuditStore } from '@tollgate/stores';
import { YamlText } from './documents.js';
import { databaseUnavailableRequests } from './error-handlers.js';

/**
 * The audit context of a mutating request, passed to the store so that the entry is written in
 * the change's own transaction. Call `auditWritten` once the store returned.
 */
export function auditContext(request: FastifyRequest, resource?: { kind: string; name?: string }): AuditContext | undefined {
  const rule = request.adminRule;
  if (!rule?.action) return undefined;
  const target = resource ?? rule.resource?.(request.params as Record<string, string | undefined>);
  return {
    action: rule.action,
    ...(request.adminActor ? { actor: request.adminActor } : {}),
    ...(target ? { resourceKind: target.kind, ...(target.name !== undefined ? { resourceName: target.name } : {}) } : {}),
    requestId: request.id,
    clientAddress: request.ip,
  };
}

/** Marks the request's audit entry as written by the store (inside the change's transaction). */
export function auditWritten(request: FastifyRequest): void {
  request.auditRecorded = true;
}

function outcomeOf(status: number, dryRun: boolean): AuditOutcome {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'denied';
  if (status >= 500) return 'error';
  if (status >= 400) return 'rejected';
  return dryRun ? 'dry_run' : 'success';
}

/** What the client tried to submit, as JSON (YAML bodies parsed); redacted by the store before writing. */
function attempted(body: unknown, maxDocuments: number): unknown {
  if (body instanceof YamlText) {
    // The model's parser, with its nesting, alias and document-count limits: a hostile body
    // refused by the route must not be expanded here (billion laughs) or overflow the stack.
    const { documents, issues } = parseYamlDocuments(body.text, { maxDocuments });
    return issues.length > 0 ? { unparsable: true } : documents.map((d) => secretsRedacted(d.value));
  }
  // A JSON body refused for its document count is not copied into the log.
  const { issues } = jsonDocumentsWithin(body, { maxDocuments });
  if (issues.length > 0) return { unparsable: true };
  return Array.isArray(body) ? body.map(secretsRedacted) : secretsRedacted(body ?? undefined);
}

/**
 * A submitted document with the model's secret fields redacted (Webhook header values, which the
 * store's name-based redaction cannot recognise); other values are returned as they are.
 */
function secretsRedacted(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const doc = value as { kind?: unknown; spec?: unknown };
  return typeof doc.kind === 'string' && doc.spec !== undefined ? redactSecrets(doc as { kind: string; spec: unknown }) : value;
}

/**
 * Writes the audit entries the stores cannot write in a transaction: failed authentications
 * (`auth.failed`), and mutations that did not commit (refused, dry run, failed). It runs in
 * `onSend`, so the entry exists before the client sees the answer. Requests refused with 429 by the
 * authentication throttle are not logged, which bounds what one address can add to the log.
 */
export function registerAuditHook(app: FastifyInstance, audit: AuditStore, maxDocuments: number): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const status = reply.statusCode;
    // The entry would wait for the same unreachable database; a change whose commit did land wrote
    // its entry in its own transaction.
    if (databaseUnavailableRequests.has(request)) return payload;
    try {
      if (request.authFailure !== undefined) {
        await audit.record({
          action: 'auth.failed',
          outcome: 'unauthenticated',
          status,
          detail: `${request.authFailure}: ${request.method} ${request.url.split('?')[0] ?? ''}`,
          requestId: request.id,
          clientAddress: request.ip,
        });
        return payload;
      }
      const context = request.auditRecorded ? undefined : auditContext(request);
      if (!context || status === 429) return payload;
      const dryRun = /[?&]dryRun=(true|1|yes)(&|$)/i.test(request.url);
      const problem = status >= 400 && typeof payload === 'string' ? safeDetail(payload) : undefined;
      const after = attempted(request.body, maxDocuments);
      await audit.record({ ...context, outcome: outcomeOf(status, dryRun), status, ...(problem ? { detail: problem } : {}), ...(after !== undefined ? { after } : {}) });
    } catch (err) {
      // The change (if any) is committed already; failing the response would misreport it.
      request.log.error({ err }, 'could not write the audit log entry');
    }
    return payload;
  });
}

/** The `detail` of a problem body (never the request body itself). */
function safeDetail(payload: string): string | undefined {
  try {
    const detail = (JSON.parse(payload) as { detail?: unknown }).detail;
    return typeof detail === 'string' ? detail.slice(0, 1000) : undefined;
  } catch {
    return undefined;
  }
}
