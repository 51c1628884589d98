/**
 * The one error catalogue: every stable code the data plane answers with or records, gathered
 * from where each is declared (the gateway's own errors in problem.ts, each policy folder's
 * `definition.ts`, the aggregate and protocol converters). docs/errors.md is rendered from it
 * (`npm run docs:errors`) and a test keeps the two equal, so the docs list every code (the habit
 * of fastify's lib/errors.js). Only tests and the docs script load this module.
 */
import { defineErrors, policyErrors, type ErrorSpec } from '@tollgate/policies/definitions';
import { AGGREGATE_ERRORS } from './aggregate/errors.js';
import { GATEWAY_ERRORS } from './problem.js';
import { CONVERTER_ERRORS } from './protocols/errors.js';
import { GRPC_CODES, httpStatusOf } from './protocols/grpc-status.js';
import { MESSAGING_ERRORS } from './messaging/errors.js';

/** Codes recorded in the access log, metrics and usage rows for requests that ended without an error body of the gateway's. */
export const ACCOUNTING_CODES = defineErrors({
  CLIENT_ABORTED: { status: 499, title: 'Client closed request', description: "The client disconnected before the response was complete; recorded as 499 (nginx's convention, never sent), with `aborted` set." },
  FAULT_ABORT: { status: 0, title: 'Fault injected', description: "The route's `fault.abort` answered with its configured status instead of the upstream." },
});

/** One row of the catalogue. `status` 0: not fixed (configured, or mapped from the upstream's answer). */
export interface CatalogueEntry extends ErrorSpec {
  /** Who raises it: `gateway`, a policy name, `aggregate`, `protocols`, `accounting`. */
  readonly raisedBy: readonly string[];
}

function grpcFamily(): ErrorSpec[] {
  // Only the statuses a transcoded call reports as its own error (the upstream's failures).
  return GRPC_CODES.filter((n) => n !== 'OK').map((name, i) => ({
    code: `GRPC_${name}`,
    status: httpStatusOf(i + 1),
    title: `gRPC ${name}`,
    description: `A transcoded gRPC call ended with status ${name} (${i + 1}); HTTP status as google/rpc/code.proto maps it.`,
  }));
}

/**
 * Every code, sorted. Throws when one code is declared with two statuses or titles: a client
 * must be able to rely on a code meaning one thing.
 */
export function errorCatalogue(): CatalogueEntry[] {
  const out = new Map<string, { spec: ErrorSpec; raisedBy: string[] }>();
  const add = (spec: ErrorSpec, by: string): void => {
    const seen = out.get(spec.code);
    if (seen === undefined) out.set(spec.code, { spec, raisedBy: [by] });
    else if (seen.spec.status !== spec.status || seen.spec.title !== spec.title) throw new Error(`error ${spec.code} is declared by ${seen.raisedBy.join(', ')} and ${by} with different status or title`);
    else if (!seen.raisedBy.includes(by)) seen.raisedBy.push(by);
  };
  for (const spec of Object.values(GATEWAY_ERRORS)) add(spec, 'gateway');
  for (const { spec, raisedBy } of policyErrors().values()) for (const by of raisedBy) add(spec, by);
  for (const spec of Object.values(AGGREGATE_ERRORS)) add(spec, 'aggregate');
  for (const spec of Object.values(CONVERTER_ERRORS)) add(spec, 'protocols');
  for (const spec of grpcFamily()) add(spec, 'protocols');
  for (const spec of Object.values(MESSAGING_ERRORS)) add(spec, 'messaging');
  for (const spec of Object.values(ACCOUNTING_CODES)) add(spec, 'accounting');
  return [...out.values()].map(({ spec, raisedBy }) => ({ ...spec, raisedBy })).sort((a, b) => a.code.localeCompare(b.code));
}

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/**
 * The admin API (and the console and portal it serves) has its own codes, catalogued in
 * apps/admin/README.md; the rule between its two 400 codes is written here, next to the gateway's,
 * because it is the one clients most often ask about.
 */
const ADMIN_SECTION = [
  '## Admin API',
  '',
  'The admin API, the console and the developer portal answer with their own codes, listed in',
  '`apps/admin/README.md` (Errors). Two of them are 400, and the line between them is:',
  '',
  '- `INVALID_BODY`: the body cannot be read. It is not UTF-8, not JSON or YAML (a syntax error),',
  '  an empty JSON body, JSON or YAML refused while it is read (a repeated key, nesting too deep,',
  '  U+0000, an alias bomb), or not exactly one document where documents are sent. No field of it',
  '  was looked at: fix how the body is produced.',
  '- `INVALID_REQUEST`: the request was read, but a value in it is wrong or not acceptable: a path',
  '  or query parameter, or a field of a JSON body (wrong type, missing, unknown, out of range, an',
  '  expiry in the past, a limit reached). A missing body where a small JSON body is expected',
  '  counts as `{}`, so its required fields are reported. `errors[].path` names each value',
  '  (`params.id`, `querystring.limit`, `body.name`).',
  '',
  'Well-formed documents that break the resource model, or a set that does not compile, are 422',
  '`INVALID_CONFIG`.',
  '',
  '`errors[].path` follows one of two conventions, by what it points into:',
  '',
  '- A value of the request (the items of `INVALID_REQUEST`): the part, then the name:',
  '  `params.<name>`, `querystring.<name>`, `body.<field>` (`body.items.1.expiresAt`), on every',
  '  endpoint, the endpoints that take documents included (`querystring.selector` on `POST /config`).',
  '- A place inside documents or text that was sent, which is not prefixed. The endpoints that take',
  '  resource documents (`POST /config`, `POST /{plural}`, `PUT /{plural}/{name}`) locate each item',
  '  of `INVALID_CONFIG`, and of the `INVALID_BODY` / 413 refusals found while reading them, by',
  '  `document` (its index in the body, from 0), `line` (YAML) and `resource`, and `path` is relative',
  '  to that document: `spec.routes[0].path`, not `body.spec.routes[0].path` (a body may hold many',
  '  documents; `tollgate apply` prints the path after the file, document and line, the console',
  '  editor after the line). An item naming only `resource` (`POST /apis/{name}/lifecycle`) is',
  '  relative to that resource; `POST /apis/import` gives a JSON pointer into the OpenAPI document',
  '  (`/paths/~1pets/get`). An `INVALID_BODY` item found while reading a JSON body (a repeated key,',
  '  nesting too deep, U+0000) is relative to the body\'s root (`name`, `items[0].name`,',
  '  `[1].spec` in an array of documents): no field has been looked at yet.',
  '',
];

/** docs/errors.md, rendered from {@link errorCatalogue}. */
export function renderErrorCatalogue(): string {
  const rows = errorCatalogue().map((e) => `| \`${e.code}\` | ${e.status === 0 ? 'varies' : e.status} | ${cell(e.title)} | ${cell(e.raisedBy.join(', '))} | ${cell(e.description)} |`);
  return [
    '# Error catalogue',
    '',
    '<!-- Generated by `npm run docs:errors` from the declarations in the code; do not edit by hand. -->',
    '',
    'Every error the gateway answers with is an RFC 9457 `application/problem+json` body with a',
    'stable `code`, its `status`, a `title`, a `detail` for this occurrence and the `requestId`. The',
    '`type` is `https://tollgate.dev/errors/<code in kebab case>`. Clients should branch on `code`,',
    'never on `title` or `detail`. The access log, `/metrics` and usage rows record the same codes.',
    '',
    '"Raised by" names the part of the gateway, or the policy, that answers with the code. A code has',
    'one status and title wherever it is raised: the catalogue refuses to build otherwise.',
    '',
    '| code | status | title | raised by | when |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...ADMIN_SECTION,
  ].join('\n');
}
