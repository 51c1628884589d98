import { sentenceOf } from './zod-messages.js';
import { Composer, LineCounter, Parser, isMap, isSeq, type CST, type Document } from 'yaml';
import type { z } from 'zod';
import { envelopeSchema, isResourceKind, KIND_SCHEMAS, RESOURCE_KINDS, resourceKey, type Resource } from './resources.js';
import { formatPath, type ConfigIssue } from './issues.js';
import { cstTooDeep, MAX_NESTING_DEPTH, nulCharacterPath, nulIssue } from './structure.js';

/** A document taken from operator input, with a way to find the line of a field. */
export interface SourceDocument {
  /** Position of the document in the input (0-based), as the operator counts `---` sections. */
  index: number;
  value: unknown;
  /** 1-based line of the value at `path`, or of the document start when the path is not found. */
  lineOf?: (path: readonly PropertyKey[]) => number | undefined;
}

/** Result of parsing and validating a set of documents: resources or issues, never both. */
export type ValidationResult = { ok: true; resources: Resource[] } | { ok: false; issues: ConfigIssue[] };

/** Default upper bound on documents in one apply, so a hostile body cannot exhaust memory. */
export const MAX_DOCUMENTS = 10_000;

/** Limits of one parse. */
export interface DocumentLimits {
  /** Most documents (after `kind: List` expansion) accepted; default MAX_DOCUMENTS. */
  maxDocuments?: number;
}

/** The issue reported when a body holds more than `max` documents; `document` is the first one past the cap. */
export function tooManyDocuments(max: number, document: number): ConfigIssue {
  return { code: 'too_many_documents', message: `at most ${max} documents per request`, document, path: '' };
}

/**
 * Splits multi-document YAML (JSON is YAML too) into documents. Empty documents (a trailing
 * `---`) are skipped but still counted, so indexes match what the operator sees in the file.
 * A `kind: List` document (as `kubectl get -o yaml` writes) is expanded into its items.
 *
 * The document cap is enforced while iterating, not after: the (cheap, flat) token stream is
 * counted before any document is composed, and composing stops at the first document past the
 * cap, so an over-cap body never has all of its documents built as objects.
 */
export function parseYamlDocuments(text: string, limits: DocumentLimits = {}): ParsedYaml {
  const steps = parseYamlDocumentSteps(text, limits);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** What {@link parseYamlDocuments} gives: the documents, or the issues that refuse the text. */
export interface ParsedYaml {
  documents: SourceDocument[];
  issues: ConfigIssue[];
}

/**
 * {@link parseYamlDocuments} as a step generator, one step per document (a step of the CST pass
 * and one of the composing pass), for a serving process to run in slices (`runSliced`): a
 * multi-document YAML body of 10,000 Apis took seconds to parse in one piece, holding the
 * data plane of an embedded `start all` for all of it (#16).
 */
export function* parseYamlDocumentSteps(text: string, limits: DocumentLimits = {}): Generator<void, ParsedYaml> {
  const max = limits.maxDocuments ?? MAX_DOCUMENTS;
  const lineCounter = new LineCounter();
  const issues: ConfigIssue[] = [];
  const documents: SourceDocument[] = [];
  // The CST is built without recursion; its depth is checked before the (recursive) composer
  // and everything after it walk the documents.
  const tokens: CST.Token[] = [];
  let docIndex = 0;
  let nonEmpty = 0;
  for (const token of new Parser(lineCounter.addNewLine).parse(text)) {
    tokens.push(token);
    if (token.type !== 'document') continue;
    yield;
    // A section with no content (a bare `---`, comments only) yields no document.
    if (token.value !== undefined && ++nonEmpty > max) return { documents: [], issues: [tooManyDocuments(max, docIndex)] };
    const deep = cstTooDeep(token);
    if (deep !== undefined) issues.push({ code: 'too_deep', message: `nested deeper than ${MAX_NESTING_DEPTH} levels`, document: docIndex, path: '', line: lineCounter.linePos(deep).line });
    docIndex++;
  }
  if (issues.length > 0) return { documents, issues };
  let index = -1;
  // compose() is a generator: documents are built one at a time, so stopping early saves the rest.
  for (const parsed of new Composer({ uniqueKeys: true, strict: true }).compose(tokens)) {
    yield;
    index++;
    const doc = parsed as Document.Parsed;
    const line = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
    if (doc.errors.length > 0) {
      // A repeated key gets the same code as in JSON bodies (see jsonStructureIssue).
      for (const e of doc.errors) issues.push({ code: e.code === 'DUPLICATE_KEY' ? 'duplicate_key' : 'invalid_yaml', message: e.message.split('\n')[0] ?? 'invalid YAML', document: index, path: '', line: line(e.pos[0]) });
      continue;
    }
    const list = isMap(doc.contents) && doc.get('kind') === 'List' && isSeq(doc.get('items')) ? (doc.get('items') as { items: unknown[] }) : undefined;
    // A List counts its items; refused before they are converted.
    if (list && documents.length + list.items.length > max) return { documents: [], issues: [tooManyDocuments(max, index)] };
    let value: unknown;
    try {
      // Aliases are limited to defuse "billion laughs" expansion: yaml throws a ReferenceError
      // when resolving them would build more than maxAliasCount times the aliased nodes.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      issues.push({ code: 'too_many_aliases', message: `the document cannot be expanded: ${(e as Error).message}`, document: index, path: '', line: line(doc.range[0]) });
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!list && documents.length >= max) return { documents: [], issues: [tooManyDocuments(max, index)] };
    const lineOf = (path: readonly PropertyKey[]) => {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
        if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) return line(node.range[0] as number);
      }
      return undefined;
    };
    // A "\0" escape (YAML 1.2 §5.7) or a raw NUL: refused as in JSON bodies (see nulIssue).
    const nulAt = nulCharacterPath(value);
    if (nulAt !== undefined) {
      const at = lineOf(nulAt);
      issues.push({ ...nulIssue(nulAt), document: index, ...(at !== undefined ? { line: at } : {}) });
      continue;
    }
    if (list) {
      const items = (value as { items: unknown[] }).items;
      items.forEach((item, i) => documents.push({ index, value: item, lineOf: (p) => lineOf(['items', i, ...p]) }));
      continue;
    }
    documents.push({ index, value, lineOf });
  }
  return { documents, issues };
}

/** Converts zod issues into config issues, relative to the document and a base path. */
function zodIssues(error: z.ZodError, doc: SourceDocument, base: PropertyKey[], resource?: string): ConfigIssue[] {
  return error.issues.map((i) => {
    const parts = [...base, ...i.path];
    let code: string = i.code;
    let message = sentenceOf(i);
    if (i.code === 'unrecognized_keys') {
      code = 'unknown_field';
      parts.push(i.keys[0] ?? '');
      message = `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    const issue: ConfigIssue = { code, message, document: doc.index, path: formatPath(parts) };
    if (resource) issue.resource = resource;
    const line = doc.lineOf?.(parts);
    if (line !== undefined) issue.line = line;
    return issue;
  });
}

/**
 * Validates documents against the resource model: known apiVersion and kind, unknown fields
 * rejected, defaults filled, no resource twice. Cross-resource checks (references) belong to
 * the compiler, which sees the whole resulting set.
 */
export function validateDocuments(documents: readonly SourceDocument[]): ValidationResult {
  const steps = validateDocumentSteps(documents);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * {@link validateDocuments} as steps (one document per `yield`): a process that also serves
 * requests (the embedded admin) validates a 10,000-document apply in slices (#16).
 */
export function* validateDocumentSteps(documents: readonly SourceDocument[]): Generator<void, ValidationResult> {
  const issues: ConfigIssue[] = [];
  const resources: Resource[] = [];
  const seen = new Map<string, number>();
  for (const doc of documents) {
    yield;
    if (typeof doc.value !== 'object' || doc.value === null || Array.isArray(doc.value)) {
      issues.push({ code: 'invalid_document', message: 'a document must be a mapping with apiVersion, kind, metadata and spec', document: doc.index, path: '' });
      continue;
    }
    const kind = (doc.value as { kind?: unknown }).kind;
    if (!isResourceKind(kind)) {
      const issue: ConfigIssue = {
        code: 'unknown_kind',
        message: kind === undefined ? 'kind is required' : `unknown kind ${JSON.stringify(kind)}; expected one of ${RESOURCE_KINDS.join(', ')}`,
        document: doc.index,
        path: 'kind',
      };
      const line = doc.lineOf?.(['kind']);
      if (line !== undefined) issue.line = line;
      issues.push(issue);
      continue;
    }
    const env = envelopeSchema.safeParse(doc.value);
    const name = (doc.value as { metadata?: { name?: unknown } }).metadata?.name;
    const key = typeof name === 'string' ? `${kind}/${name}` : undefined;
    if (!env.success) {
      issues.push(...zodIssues(env.error, doc, [], key));
      continue;
    }
    const spec = KIND_SCHEMAS[kind].safeParse(env.data.spec ?? {});
    if (!spec.success) {
      issues.push(...zodIssues(spec.error, doc, ['spec'], key));
      continue;
    }
    const resource = { apiVersion: env.data.apiVersion, kind, metadata: env.data.metadata, spec: spec.data } as Resource;
    const rkey = resourceKey(resource);
    const previous = seen.get(rkey);
    if (previous !== undefined) {
      issues.push({ code: 'duplicate_resource', message: `${rkey} is also defined in document ${previous}`, document: doc.index, resource: rkey, path: 'metadata.name' });
      continue;
    }
    seen.set(rkey, doc.index);
    resources.push(resource);
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, resources };
}

/** Parses a JSON value (one document, an array of documents, or a `kind: List`) into source documents. */
export function jsonDocuments(body: unknown): SourceDocument[] {
  const items = jsonItems(body);
  return items ? items.map((value, index) => ({ index, value })) : [{ index: 0, value: body }];
}

/** The documents of a JSON body (an array, a `kind: List`, or one object). */
function jsonItems(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object' && (body as { kind?: unknown }).kind === 'List' && Array.isArray((body as { items?: unknown }).items)) {
    return (body as { items: unknown[] }).items;
  }
  return undefined;
}

/**
 * Like jsonDocuments, for operator input: over `maxDocuments` documents is refused
 * (`too_many_documents`) before any is wrapped or validated.
 */
export function jsonDocumentsWithin(body: unknown, limits: DocumentLimits = {}): { documents: SourceDocument[]; issues: ConfigIssue[] } {
  const max = limits.maxDocuments ?? MAX_DOCUMENTS;
  const count = jsonItems(body)?.length ?? 1;
  if (count > max) return { documents: [], issues: [tooManyDocuments(max, max)] };
  return { documents: jsonDocuments(body), issues: [] };
}

/** Parses and validates YAML text in one step. */
export function parseResourcesYaml(text: string): ValidationResult {
  const { documents, issues } = parseYamlDocuments(text);
  if (issues.length > 0) return { ok: false, issues };
  return validateDocuments(documents);
}
