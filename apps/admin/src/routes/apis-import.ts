import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { jsonDocuments, jsonStructureIssue, parseYamlDocuments, validateDocuments, type ApiResource, type Resource } from '@tollgate/model';
import { ApplyRejectedError } from '@tollgate/stores';
import { diffRoutes, importOpenApi, type OpenApiImportOptions } from '@tollgate/importers';
import { auditContext, auditWritten } from '../audit.js';
import { bodyText } from '../body-text.js';
import type { AdminContext } from '../context.js';
import { summarize, toDocument, YAML_MEDIA_TYPES, YamlText } from '../documents.js';
import { ProblemError, type ProblemItem } from '../problem.js';
import { errorResponses, flag, problemSchema } from '../schemas.js';
import { readBody } from './body.js';

/** A JSON body kept as text, so the importer reports lines (and `{document, options}` is told apart). */
class JsonText {
  constructor(readonly text: string) {}
}

const optionsSchema = z.strictObject({
  name: z.string().min(1).max(253).optional().describe('Name of the Api (and generated Upstream); default `x-tollgate-api.name`, else a slug of `info.title`.'),
  upstream: z.string().min(1).max(2048).optional().describe('Upstream URL (origin and optional path) instead of the first server.'),
  basePath: z.string().min(1).max(2048).optional().describe('Gateway base path of the Api; default the path of the first server.'),
  strict: z.boolean().optional().describe('Refuse the import (422) when the document uses constructs Tollgate does not implement, instead of warning.'),
  validate: z.boolean().optional().describe('Attach request validation to every operation (`x-tollgate-validate` decides otherwise).'),
  allowUnprotected: z
    .boolean()
    .optional()
    .describe('Import operations whose security requirement cannot be enforced as written (unmappable scheme, schemes required together, unchecked role names) with what can be checked, possibly no authentication, and a warning. Without it such operations make the import fail with 422.'),
});

/** `POST /apis/import` query. */
export const importQuerySchema = z.strictObject({
  dryRun: flag.describe('Report what would change (and the generated resources) without committing anything.'),
  strict: flag.describe('Warnings become errors (422).'),
  validate: flag.describe('Attach request validation to every operation.'),
  allowUnprotected: flag.describe('Import operations whose security cannot be enforced as written with weaker or no authentication (warned) instead of refusing the import (422).'),
  name: optionsSchema.shape.name,
  upstream: optionsSchema.shape.upstream,
  basePath: optionsSchema.shape.basePath,
});

/** The JSON envelope form of the body: the document (object, or YAML/JSON text) and options. */
export const importEnvelopeSchema = z.strictObject({
  document: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).describe('The OpenAPI document, as an object or as YAML/JSON text.'),
  options: optionsSchema.default({}),
});

const warningSchema = z.object({ pointer: z.string().describe('JSON pointer (RFC 6901) into the document.'), code: z.string(), message: z.string() });

/** Response of `POST /apis/import`. */
export const importResponseSchema = z.object({
  api: z.string().describe('Name of the Api created or updated.'),
  version: z.number().int().describe('Config version after the import (unchanged for a dry run or no change).'),
  dryRun: z.boolean(),
  openapi: z.string().describe('The `openapi` version of the document.'),
  changes: z.array(z.object({ kind: z.string(), name: z.string(), action: z.enum(['create', 'update', 'delete', 'unchanged']) })).describe('What happened to each resource.'),
  routes: z.object({ created: z.array(z.string()), updated: z.array(z.string()), unchanged: z.array(z.string()), deleted: z.array(z.string()) }).describe('Route names of the Api by what the import did to them (route ids are `api/name`).'),
  warnings: z.array(warningSchema).describe('What the document asks for that Tollgate does not do as asked (see docs/openapi.md); `strict` makes them errors.'),
  resources: z.array(z.record(z.string(), z.unknown())).describe('The generated documents (Upstream, Api), as an export would show them.'),
});

type ImportResponse = z.infer<typeof importResponseSchema>;

/** The label every imported resource carries; only resources with it are replaced by an import. */
const IMPORTED_LABEL = 'tollgate.dev/imported-from';

/**
 * Api fields an operator manages after the import (lifecycle state, versions, hosts, priority,
 * subscriptions): a re-import keeps their stored values unless the document sets them
 * (`x-tollgate-api`), so publishing a new revision never resets a deprecation.
 */
const OPERATOR_FIELDS = ['lifecycle', 'product', 'version', 'versioning', 'hosts', 'priority', 'subscriptionRequired', 'usagePath'];

function keepOperatorFields(generated: { spec: Record<string, unknown> }, stored: ApiResource): void {
  const old = stored.spec as unknown as Record<string, unknown>;
  for (const k of OPERATOR_FIELDS) if (generated.spec[k] === undefined && old[k] !== undefined) generated.spec[k] = old[k];
}

/** The document as the audit log may record it (parsed, so secret fields can be redacted). */
function parsedForAudit(text: string): unknown {
  const { documents, issues } = parseYamlDocuments(text);
  return issues.length === 0 && documents.length === 1 ? documents[0]?.value : { unparsable: true };
}

function bad(detail: string, errors: ProblemItem[]): ProblemError {
  return new ProblemError('INVALID_CONFIG', detail, { errors });
}

/**
 * `POST /apis/import`: an OpenAPI 3.0 / 3.1 document (YAML or JSON body, or the JSON envelope
 * `{document, options}`) becomes an Api (one route per operation) and an Upstream, applied in one
 * transaction like `POST /config` (no prune: only these two resources are touched). Route names
 * come from operationIds, so re-importing an edited document updates routes in place.
 */
export function register(app: FastifyInstance, ctx: AdminContext): void {
  // A child scope: JSON bodies stay text here (the rest of the API keeps Fastify's JSON parser).
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      try {
        done(null, new JsonText(bodyText(request, body as Buffer)));
      } catch (err) {
        done(err as Error);
      }
    });
    const r = scope.withTypeProvider<ZodTypeProvider>();
    r.post(
      '/apis/import',
      {
        schema: {
          tags: ['apis'],
          summary: 'Import an OpenAPI 3.0/3.1 document as an Api (create or update in place)',
          description: `Body: the document as ${[...YAML_MEDIA_TYPES].join(', ')} or application/json, or the JSON envelope {document, options}. See docs/openapi.md.`,
          querystring: importQuerySchema,
          body: z.union([importEnvelopeSchema, z.record(z.string(), z.unknown())]).describe('An OpenAPI document, or {document, options}.'),
          response: { 200: importResponseSchema, 413: problemSchema, 415: problemSchema, 422: problemSchema, ...errorResponses },
        },
      },
      async (request): Promise<ImportResponse> => {
        const q = request.query;
        let input: string | Record<string, unknown>;
        let options: OpenApiImportOptions = {};
        const body = request.body as unknown;
        // Until the document is parsed (below), the audit log records no part of the raw text.
        if (body instanceof JsonText) (request as { body: unknown }).body = { unparsable: true };
        if (body instanceof YamlText) input = body.text;
        else if (body instanceof JsonText) {
          input = body.text;
          let parsed: unknown;
          try {
            parsed = JSON.parse(body.text);
          } catch {
            parsed = undefined; // the importer reports the syntax error with its line
          }
          // Well-formed JSON still may repeat a name (JSON.parse keeps the last) or nest too deep.
          const issue = parsed === undefined ? undefined : jsonStructureIssue(body.text);
          if (issue !== undefined) throw new ProblemError('INVALID_BODY', `the body is not acceptable JSON${issue.path === '' ? '' : ` at ${issue.path}`}: ${issue.message}`, { errors: [issue] });
          if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && 'document' in parsed && !('openapi' in parsed)) {
            const env = readBody(importEnvelopeSchema, parsed);
            input = env.document;
            options = Object.fromEntries(Object.entries(env.options).filter(([, v]) => v !== undefined)) as OpenApiImportOptions;
          }
        } else throw new ProblemError('INVALID_BODY', 'send the OpenAPI document as YAML (application/yaml) or JSON (application/json)');
        // The audit log records the attempted body with secret fields redacted: give it the parsed
        // document (x-tollgate-jwt may carry HMAC secrets), never the raw text.
        (request as { body: unknown }).body = { document: typeof input === 'string' ? parsedForAudit(input) : input, options };
        // Query parameters given explicitly win over the envelope's options.
        if (q.name !== undefined) options.name = q.name;
        if (q.upstream !== undefined) options.upstream = q.upstream;
        if (q.basePath !== undefined) options.basePath = q.basePath;
        if (q.strict) options.strict = true;
        if (q.validate) options.validate = true;
        if (q.allowUnprotected) options.allowUnprotected = true;

        const result = await importOpenApi(input, options);
        if (!result.ok) {
          const errors: ProblemItem[] = result.errors.map((e) => ({ path: e.pointer, code: e.code, message: e.message, ...(e.line !== undefined ? { line: e.line } : {}) }));
          const first = result.errors[0];
          throw bad(`the OpenAPI document cannot be imported: ${first ? `${first.pointer || '/'}${first.line !== undefined ? ` (line ${first.line})` : ''}: ${first.message}` : 'invalid'}${result.errors.length > 1 ? ` (and ${result.errors.length - 1} more)` : ''}`, errors);
        }
        // Only resources an import made may be replaced by one: a hand-written Api or Upstream of the same name is refused.
        const storedApi = await ctx.config.get('Api', result.api.metadata.name);
        for (const [kind, stored] of [['Api', storedApi], ['Upstream', result.upstream ? await ctx.config.get('Upstream', result.upstream.metadata.name) : undefined]] as const) {
          if (stored && stored.resource.metadata.labels?.[IMPORTED_LABEL] !== 'openapi') {
            throw new ProblemError('ALREADY_EXISTS', `${kind}/${stored.resource.metadata.name} exists and was not imported from OpenAPI: choose another name (--name), or label it ${IMPORTED_LABEL}: openapi to let imports replace it`);
          }
        }
        if (storedApi) keepOperatorFields(result.api as unknown as { spec: Record<string, unknown> }, toDocument(storedApi.resource) as ApiResource);
        const docs = result.upstream ? [result.upstream, result.api] : [result.api];
        const validated = validateDocuments(jsonDocuments(docs));
        if (!validated.ok) throw bad(summarize('the generated resources are invalid', validated.issues), validated.issues);
        const resources: Resource[] = validated.resources;
        const api = resources.find((x): x is ApiResource => x.kind === 'Api') as ApiResource;
        const before = storedApi ? (toDocument(storedApi.resource) as ApiResource).spec.routes : undefined;
        let applied;
        try {
          const audit = auditContext(request, { kind: 'Api', name: api.metadata.name });
          applied = await ctx.config.apply(resources, { dryRun: q.dryRun, validate: ctx.validate, ...(audit ? { audit } : {}) });
        } catch (error) {
          if (error instanceof ApplyRejectedError) throw bad(summarize('the resulting configuration is invalid', error.issues), error.issues);
          throw error;
        }
        if (!q.dryRun) auditWritten(request);
        return {
          api: api.metadata.name,
          version: applied.version,
          dryRun: applied.dryRun,
          openapi: result.openapiVersion,
          changes: applied.changes.map((c) => ({ kind: c.kind, name: c.name, action: c.action })),
          routes: diffRoutes(before, (toDocument(api) as ApiResource).spec.routes),
          warnings: result.warnings,
          resources: resources.map((x) => toDocument(x) as unknown as Record<string, unknown>),
        };
      },
    );
  });
}
