import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RESOURCE_KINDS, documentSchema, nextTurn, toYaml, sortResources } from '@tollgate/model';
import { ApplyRejectedError } from '@tollgate/stores';
import type { ImportOptions } from '@tollgate/importers';
import { auditContext, auditWritten } from '../audit.js';
import { diffChanges, resourceDiffSchema } from '../config-diff.js';
import type { AdminContext } from '../context.js';
import { locateAll, locateIssues, readResources, summarize, toDocument } from '../documents.js';
import { ProblemError } from '../problem.js';
import { prunePredicate, pruneScopeOf } from '../prune-scope.js';
import { subscriptionBoundaryWarnings } from '../subscription-warnings.js';
import { applyResponseSchema, errorResponses, flag, problemSchema } from '../schemas.js';

// Every kind the model knows, so a new kind is accepted and documented without touching this file.
const [firstKind, ...otherKinds] = RESOURCE_KINDS.map((kind) => documentSchema(kind));
const anyDocument = z.union([firstKind as z.ZodType, ...otherKinds]);

/** A JSON `kind: List` of documents, as `GET /config?format=json` writes and `POST /config` reads. */
export const listDocumentSchema = z.object({ apiVersion: z.literal('v1'), kind: z.literal('List'), items: z.array(anyDocument) });

/** `POST /config` body (JSON form; YAML bodies carry the same documents separated by `---`). */
export const applyBodySchema = z
  .union([anyDocument, z.array(anyDocument), listDocumentSchema])
  .describe('One document, an array of documents, or a List. Also accepted as multi-document YAML (application/yaml).');

/** `POST /config` query. */
export const applyQuerySchema = z.strictObject({
  dryRun: flag.describe('Validate and report the changes without committing them.'),
  strict: flag.describe('Reject the apply (422) when Kubernetes / Istio documents use fields Tollgate does not implement, instead of warning.'),
  prune: flag.describe('Delete stored resources that are not in the body (like `decK sync`), within the prune scope: every kind but Consumer, Plan and Subscription unless pruneKind / pruneBilling say otherwise.'),
  pruneKind: z.string().min(1).optional().describe('Comma-separated kinds the prune may delete (e.g. `Upstream,Api`). Billing kinds (Consumer, Plan, Subscription) also need pruneBilling=true.'),
  selector: z.string().min(1).optional().describe('Label selector limiting the prune, as kubectl `-l`: `team=payments,tier!=internal,owner,!legacy`.'),
  pruneBilling: flag.describe('Allow the prune to delete billing kinds (Consumer, Plan, Subscription).'),
  diff: flag.describe('Also answer `diff`: a unified diff (stored YAML -> resulting YAML) of every resource the apply creates, updates or deletes; with dryRun=true, a preview as `tollgate diff` shows it.'),
});

/** `GET /config` query. */
export const exportQuerySchema = z.strictObject({ format: z.enum(['yaml', 'json']).default('yaml') });

/** Response of `POST /config`: the changes, and what imported Kubernetes / Istio documents asked for that Tollgate ignores. */
export const applyWithWarningsSchema = applyResponseSchema.extend({
  prune: z.object({ kinds: z.array(z.string()), selector: z.string().optional() }).optional().describe('The prune scope used (only with prune=true): the kinds it could delete and the label selector.'),
  diff: z.array(resourceDiffSchema).optional().describe('Only with diff=true: one unified diff per created, updated or deleted resource.'),
  warnings: z.array(z.object({ document: z.number().int(), resource: z.string(), path: z.string(), message: z.string() })).describe('Fields of Kubernetes / Istio documents Tollgate does not implement (see docs/importers.md; `strict=true` makes them errors), and Subscription times just off a month boundary of the plan\'s time zone (see docs/billing.md).'),
});

/** Response of `POST /config`. */
export type ApplyResponse = z.infer<typeof applyWithWarningsSchema>;

/** Import options from the environment: served ingress classes (comma list) and Istio gateway labels (`k=v,k=v`). */
function importOptionsFromEnv(env: NodeJS.ProcessEnv): ImportOptions {
  const classes = env.TOLLGATE_INGRESS_CLASSES?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const labels = env.TOLLGATE_GATEWAY_LABELS?.split(',').map((s) => s.trim().split('=')).filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== '');
  // Namespaces that Istio security policies without a selector must be in to apply to this gateway.
  const gatewayNamespace = env.TOLLGATE_GATEWAY_NAMESPACE?.trim();
  const rootNamespace = env.TOLLGATE_ROOT_NAMESPACE?.trim();
  return { ...(classes && classes.length > 0 ? { ingressClasses: classes } : {}), ...(labels && labels.length > 0 ? { gatewayLabels: Object.fromEntries(labels) } : {}), ...(gatewayNamespace ? { gatewayNamespace } : {}), ...(rootNamespace ? { rootNamespace } : {}) };
}

/** `POST /config` (declarative apply, all or nothing) and `GET /config` (export). */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const importOptions = importOptionsFromEnv(process.env);

  r.post(
    '/config',
    {
      schema: {
        tags: ['config'],
        summary: 'Apply a set of documents in one transaction',
        querystring: applyQuerySchema,
        body: applyBodySchema,
        response: { 200: applyWithWarningsSchema, 413: problemSchema, 415: problemSchema, 422: problemSchema, ...errorResponses },
      },
    },
    async (request): Promise<ApplyResponse> => {
      const { dryRun, strict } = request.query;
      // Checked before the documents: a wrong prune scope must never reach the store.
      const scope = pruneScopeOf(request.query);
      const submitted = await readResources(request.body as unknown, ctx.config, importOptions, { maxDocuments: ctx.maxDocuments });
      if (strict && submitted.warnings.length > 0) {
        const errors = submitted.warnings.map((w) => ({ code: 'unsupported_field', ...w }));
        throw new ProblemError('INVALID_CONFIG', summarize('strict apply: the documents use fields Tollgate does not implement', errors), { errors });
      }
      try {
        const audit = auditContext(request);
        const result = await ctx.config.apply(submitted.resources, { prune: scope ? prunePredicate(scope) : false, dryRun, validate: locateIssues(ctx.validate, submitted), ...(audit ? { audit } : {}) });
        // A dry run commits nothing, its audit entry included; the onSend hook records it instead.
        if (!dryRun) auditWritten(request);
        // A turn of the event loop after the store's last statement and another before the answer
        // is serialized: the end of the transaction, the warnings' pass over every document and the
        // list of 10,000 changes ran as one block otherwise (embedded mode serves from this loop, #16).
        await nextTurn();
        const dateWarnings = await subscriptionBoundaryWarnings(submitted.resources, (i) => submitted.documents[i]?.index ?? i, ctx.config);
        await nextTurn();
        return { version: result.version, ...(result.seq !== undefined ? { seq: result.seq } : {}), dryRun: result.dryRun, changes: result.changes.map((c) => ({ kind: c.kind, name: c.name, action: c.action })), ...(request.query.diff ? { diff: diffChanges(result.changes) } : {}), warnings: [...submitted.warnings, ...dateWarnings], ...(scope ? { prune: { kinds: scope.kinds, ...(request.query.selector ? { selector: request.query.selector } : {}) } } : {}) };
      } catch (error) {
        if (error instanceof ApplyRejectedError) {
          // Issues raised by the store itself (an illegal lifecycle transition) get their document and line here.
          const errors = locateAll(error.issues, submitted);
          throw new ProblemError('INVALID_CONFIG', summarize('the resulting configuration is invalid', errors), { errors });
        }
        throw error;
      }
    },
  );

  r.get(
    '/config',
    {
      schema: {
        tags: ['config'],
        summary: 'Export every resource (multi-document YAML, or a JSON List)',
        querystring: exportQuerySchema,
        response: {
          200: { description: 'All resources in dependency order.', content: { 'application/yaml': { schema: z.string() }, 'application/json': { schema: listDocumentSchema } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const snapshot = await ctx.config.load();
      reply.header('tollgate-config-version', String(snapshot.version));
      if (request.query.format === 'json') {
        const items = sortResources(snapshot.resources).map(toDocument);
        return reply.type('application/json').send({ apiVersion: 'v1', kind: 'List', items });
      }
      return reply.type('application/yaml').send(toYaml(snapshot.resources.map(toDocument)));
    },
  );
}
