import { sentenceOf } from './zod-messages.js';
import { Composer, LineCounter, Parser, isMap, isSeq, type CST, type Document } from 'yaml';
import type { z } from 'zod';
import { envelopeSchema, isResourceKind, KIND_SCHEMAS, RESOURCE_KINDS, resourceKey, type Resource } from './resources.js';
import { formatPath, type ConfigIssue } from './issues.js';
import { cstTooDeep, MAX_NESTING_DEPTH } from './structure.js';

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

/** Upper bound on documents in one apply, so a hostile body cannot exhaust memory. */
export const MAX_DOCUMENTS = 10_000;

/**
 * Splits multi-document YAML (JSON is YAML too) into documents. Empty documents (a trailing
 * `---`) are skipped but still counted, so indexes match what the operator sees in the file.
 * A `kind: List` document (as `kubectl get -o yaml` writes) is expanded into its items.
 */
export function parseYamlDocuments(text: string): { documents: SourceDocument[]; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const issues: ConfigIssue[] = [];
  const documents: SourceDocument[] = [];
  // The CST is built without recursion; its depth is checked before the (recursive) composer
  // and everything after it walk the documents.
  const tokens: CST.Token[] = [...new Parser(lineCounter.addNewLine).parse(text)];
  let docIndex = 0;
  for (const token of tokens) {
    if (token.type !== 'document') continue;
    const deep = cstTooDeep(token);
    if (deep !== undefined) issues.push({ code: 'too_deep', message: `nested deeper than ${MAX_NESTING_DEPTH} levels`, document: docIndex, path: '', line: lineCounter.linePos(deep).line });
    docIndex++;
  }
  if (issues.length > 0) return { documents, issues };
  const docs = [...new Composer({ uniqueKeys: true, strict: true }).compose(tokens)] as Document.Parsed[];
  docs.forEach((doc, index) => {
    const line = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
    if (doc.errors.length > 0) {
      // A repeated key gets the same code as in JSON bodies (see jsonStructureIssue).
      for (const e of doc.errors) issues.push({ code: e.code === 'DUPLICATE_KEY' ? 'duplicate_key' : 'invalid_yaml', message: e.message.split('\n')[0] ?? 'invalid YAML', document: index, path: '', line: line(e.pos[0]) });
      return;
    }
    let value: unknown;
    try {
      // Aliases are limited to defuse "billion laughs" expansion: yaml throws a ReferenceError
      // when resolving them would build more than maxAliasCount times the aliased nodes.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      issues.push({ code: 'too_many_aliases', message: `the document cannot be expanded: ${(e as Error).message}`, document: index, path: '', line: line(doc.range[0]) });
      return;
    }
    if (value === null || value === undefined) return;
    const lineOf = (path: readonly PropertyKey[]) => {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
        if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) return line(node.range[0] as number);
      }
      return undefined;
    };
    if (isMap(doc.contents) && doc.get('kind') === 'List' && isSeq(doc.get('items'))) {
      const items = (value as { items: unknown[] }).items;
      items.forEach((item, i) => documents.push({ index, value: item, lineOf: (p) => lineOf(['items', i, ...p]) }));
      return;
    }
    documents.push({ index, value, lineOf });
  });
  if (documents.length > MAX_DOCUMENTS) issues.push({ code: 'too_many_documents', message: `at most ${MAX_DOCUMENTS} documents per request`, path: '' });
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
  const issues: ConfigIssue[] = [];
  const resources: Resource[] = [];
  const seen = new Map<string, number>();
  for (const doc of documents) {
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
  if (Array.isArray(body)) return body.map((value, index) => ({ index, value }));
  if (body && typeof body === 'object' && (body as { kind?: unknown }).kind === 'List' && Array.isArray((body as { items?: unknown }).items)) {
    return ((body as { items: unknown[] }).items).map((value, index) => ({ index, value }));
  }
  return [{ index: 0, value: body }];
}

/** Parses and validates YAML text in one step. */
export function parseResourcesYaml(text: string): ValidationResult {
  const { documents, issues } = parseYamlDocuments(text);
  if (issues.length > 0) return { ok: false, issues };
  return validateDocuments(documents);
}
