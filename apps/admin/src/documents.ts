import { API_VERSION, formatPath, hashDeclaredKeys, hashDeclaredPasswords, hasPlaintextPassword, isResourceKind, jsonDocumentsWithin, KIND_SCHEMAS, REDACTED_SECRET, redactedSecretPaths, redactSecrets, restoreSecrets, metadataSchema, parseYamlDocumentSteps, resourceKey, sliceTimer, validateDocuments, validateDocumentSteps, type ConfigIssue, type DocumentLimits, type Resource, type ResourceKind, type SourceDocument } from '@tollgate/model';
import type { ConfigStore, SetValidator } from '@tollgate/stores';
import { runSliced } from '@tollgate/compiler';
import { importDocuments, type ImportOptions, type ImportWarning } from '@tollgate/importers';
import { ProblemError } from './problem.js';

/** Media types accepted for YAML bodies (RFC 9512 registers `application/yaml`; the others are common in the wild). */
export const YAML_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'] as const;

/**
 * The document as the API shows it: exactly the fields `tollgate apply` accepts back, with keys
 * in schema order. Stores keep specs as jsonb, which reorders keys; re-parsing (idempotent for
 * validated data) gives exports and diffs a stable, readable order.
 */
export function toDocument(resource: Resource): Resource {
  const metadata = metadataSchema.safeParse(resource.metadata);
  const spec = KIND_SCHEMAS[resource.kind].safeParse(resource.spec);
  const document = {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    metadata: metadata.success ? metadata.data : resource.metadata,
    spec: spec.success ? spec.data : resource.spec,
  } as Resource;
  // TLS private keys never leave the server: every read and export shows a marker instead.
  return redactSecrets(document);
}

/**
 * Puts stored secrets back where a submitted document carries the redaction marker (an export
 * being re-applied). Runs before validation, which checks a key against its certificate; a
 * marker with nothing stored stays and fails validation there, naming the field.
 */
async function restoreRedactedSecrets(documents: SourceDocument[], config: Pick<ConfigStore, 'get'>): Promise<void> {
  const left: ConfigIssue[] = [];
  // In slices, and each document's secret fields found once: this walk of every submitted
  // document was one 20-45 ms run of the event loop for 10,000 Apis, which in embedded mode
  // the gateway serves from (#16, docs/benchmarks.md "The longest blocks attributed").
  const pause = sliceTimer();
  for (const doc of documents) {
    await pause();
    if (redactedSecretPaths(doc.value).length === 0) continue;
    const { kind, metadata } = doc.value as { kind: unknown; metadata?: { name?: unknown } };
    if (isResourceKind(kind) && typeof metadata?.name === 'string') {
      const stored = await config.get(kind, metadata.name);
      doc.value = restoreSecrets(doc.value, stored?.resource);
    }
    // A marker with no stored secret behind it must never become the secret itself.
    for (const path of redactedSecretPaths(doc.value)) {
      const line = doc.lineOf?.(path);
      left.push({ code: 'redacted_secret', message: `"${REDACTED_SECRET}" keeps a stored secret, and there is none here: give the real value`, document: doc.index, path: formatPath(path), ...(line !== undefined ? { line } : {}) });
    }
  }
  if (left.length > 0) throw new ProblemError('INVALID_CONFIG', summarize('the documents are invalid', left), { errors: left });
}

/** A body parsed by the YAML content-type parser: kept as text so issues can carry line numbers. */
export class YamlText {
  constructor(readonly text: string) {}
}

/** Resources validated against the model, with the source documents they came from. */
export interface SubmittedResources {
  resources: Resource[];
  documents: SourceDocument[];
  /** What Kubernetes / Istio documents asked for that Tollgate does not implement. */
  warnings: ImportWarning[];
}

/**
 * Turns a request body (YAML text or parsed JSON) into validated resources. Syntax errors are
 * 400 INVALID_BODY (the input is not a document at all); model violations are 422 INVALID_CONFIG.
 */
export async function readResources(body: unknown, config: Pick<ConfigStore, 'get'>, importOptions: ImportOptions = {}, limits: DocumentLimits = {}, endpointKind?: ResourceKind): Promise<SubmittedResources> {
  let documents: SourceDocument[];
  if (body === undefined || body === null) throw new ProblemError('INVALID_BODY', 'the request has no body; send YAML or JSON documents');
  // YAML in slices (a step per document): in embedded mode this event loop serves requests too (#16).
  const parsed = body instanceof YamlText ? await runSliced(parseYamlDocumentSteps(body.text, limits)) : jsonDocumentsWithin(body, limits);
  if (parsed.issues.length > 0) {
    // Too many documents is a size refusal (413, RFC 9110 §15.5.14), found while parsing.
    const tooMany = parsed.issues.find((i) => i.code === 'too_many_documents');
    if (tooMany) throw new ProblemError('PAYLOAD_TOO_LARGE', tooMany.message, { errors: [tooMany] });
    throw new ProblemError('INVALID_BODY', summarize('the body is not valid YAML', parsed.issues), { errors: parsed.issues });
  }
  documents = parsed.documents;
  if (endpointKind !== undefined) fillEnvelope(documents, endpointKind);
  // Kubernetes and Istio documents become Tollgate documents here, before the model sees them.
  const imported = importDocuments(documents, importOptions);
  if (imported.issues.length > 0) throw new ProblemError('INVALID_CONFIG', summarize('the documents are invalid', imported.issues), { errors: imported.issues });
  documents = imported.documents;
  await restoreRedactedSecrets(documents, config);
  // In slices: in embedded mode the gateway serves requests from this same event loop (#16).
  const result = await runSliced(validateDocumentSteps(documents));
  if (!result.ok) throw new ProblemError('INVALID_CONFIG', summarize('the documents are invalid', result.issues), { errors: result.issues });
  // Basic-auth passwords become scrypt hashes (keeping a stored hash the password still matches,
  // so re-applying the same YAML is "unchanged"), then declared plaintext API keys become digests,
  // before anything is stored, compared or echoed.
  // Only documents with a password read their stored version (an apply of thousands of consumers stays one pass).
  // In slices (one pass over 10,000 documents held the loop, #16); the password hashes still run concurrently.
  const hashing: Array<Resource | Promise<Resource>> = [];
  const pause = sliceTimer();
  for (const r of result.resources) {
    await pause();
    if (!hasPlaintextPassword(r)) {
      hashing.push(hashDeclaredKeys(r));
      continue;
    }
    const hashed = config.get('Consumer', r.metadata.name).then(async (stored) => hashDeclaredKeys(await hashDeclaredPasswords(r, stored?.resource)));
    // Awaited below; a failure while the loop still pauses must not count as unhandled.
    hashed.catch(() => undefined);
    hashing.push(hashed);
  }
  return { resources: await Promise.all(hashing), documents, warnings: imported.warnings };
}

/**
 * On a per-kind endpoint the path already says the kind, so a document may leave out `apiVersion`
 * and `kind` (`POST /consumers` with only `metadata` and `spec`), in YAML as in JSON: they are
 * filled in from the endpoint. A `kind` that names another kind is refused here, before the
 * document is validated as that other kind (whose errors would only confuse), as 422 naming
 * the line; a given `apiVersion` is left for the model to check.
 */
function fillEnvelope(documents: SourceDocument[], kind: ResourceKind): void {
  for (const doc of documents) {
    const value = doc.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const given = (value as { kind?: unknown }).kind;
    if (given !== undefined && given !== kind) {
      const line = doc.lineOf?.(['kind']);
      const issue: ConfigIssue = { document: doc.index, path: 'kind', code: 'wrong_kind', message: `must be "${kind}" (or left out) on this endpoint, not ${JSON.stringify(given)}`, ...(line !== undefined ? { line } : {}) };
      throw new ProblemError('INVALID_CONFIG', `this endpoint takes ${kind} documents, not ${typeof given === 'string' ? given : JSON.stringify(given)}`, { errors: [issue] });
    }
    const { apiVersion, kind: _kind, ...rest } = value as Record<string, unknown>;
    doc.value = { apiVersion: apiVersion ?? API_VERSION, kind, ...rest };
  }
}

/**
 * Like readResources, for endpoints that take exactly one resource; `kind` is the endpoint's
 * (see fillEnvelope), undefined where any kind is taken.
 */
export async function readOneResource(body: unknown, config: Pick<ConfigStore, 'get'>, kind?: ResourceKind): Promise<{ resource: Resource; document: SourceDocument }> {
  const { resources, documents } = await readResources(body, config, {}, {}, kind);
  const [resource] = resources;
  const [document] = documents;
  if (resources.length !== 1 || resource === undefined || document === undefined) {
    throw new ProblemError('INVALID_BODY', `expected exactly one document, got ${resources.length}`);
  }
  return { resource, document };
}

/** A one-line summary of issues for the problem's `detail`. */
export function summarize(lead: string, issues: readonly ConfigIssue[]): string {
  const first = issues[0];
  if (!first) return lead;
  const where = [first.document !== undefined ? `document ${first.document}` : '', first.resource ?? '', first.line !== undefined ? `line ${first.line}` : ''].filter((s) => s !== '').join(' ');
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${lead}: ${where ? `${where}: ` : ''}${first.path ? `${first.path}: ` : ''}${first.message}${more}`;
}

/** Parses `a.b[0].c` (formatPath's output) back into parts, to find the YAML line of a field. */
export function parsePath(path: string): PropertyKey[] {
  const parts: PropertyKey[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) parts.push(Number(m[2]));
    else if (m[1] !== undefined) parts.push(m[1]);
  }
  return parts;
}

/**
 * Wraps a set validator so that issues about submitted resources (identified by `Kind/name`)
 * name the document index and YAML line the operator has to fix.
 */
export function locateIssues(validate: SetValidator, submitted: Pick<SubmittedResources, 'resources' | 'documents'>): (resources: Resource[]) => Promise<ConfigIssue[]> {
  const locate = issueLocator(submitted);
  return async (resources) => (await validate(resources)).map(locate);
}

/** Issues with the document index and YAML line of the submitted resource they name (see locateIssues). */
export function locateAll(issues: readonly ConfigIssue[], submitted: Pick<SubmittedResources, 'resources' | 'documents'>): ConfigIssue[] {
  return issues.map(issueLocator(submitted));
}

function issueLocator(submitted: Pick<SubmittedResources, 'resources' | 'documents'>): (issue: ConfigIssue) => ConfigIssue {
  const byKey = new Map<string, SourceDocument>();
  submitted.resources.forEach((r, i) => {
    const doc = submitted.documents[i];
    if (doc) byKey.set(resourceKey(r), doc);
  });
  return (issue) => {
    const doc = issue.resource !== undefined ? byKey.get(issue.resource) : undefined;
    if (!doc) return issue;
    const located: ConfigIssue = { ...issue, document: issue.document ?? doc.index };
    if (located.line === undefined) {
      const line = doc.lineOf?.(parsePath(issue.path));
      if (line !== undefined) located.line = line;
    }
    return located;
  };
}
