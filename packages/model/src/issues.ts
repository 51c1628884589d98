/**
 * A problem found in operator input, located precisely enough to fix it: which document of a
 * multi-document apply, which resource, and which field (a dotted path with [index] parts).
 */
export interface ConfigIssue {
  /** Stable machine-readable code, e.g. `unknown_field`, `invalid_type`, `dangling_reference`. */
  code: string;
  /** Human-readable explanation. */
  message: string;
  /** Zero-based index of the document in the submitted set, when the issue belongs to one. */
  document?: number;
  /** `Kind/name` of the resource, when known. */
  resource?: string;
  /** Field path inside the document, e.g. `spec.routes[0].destination.upstream`. */
  path: string;
  /** 1-based line in the submitted YAML text, when known. */
  line?: number;
}

/** Formats a path array (as zod reports it) as `a.b[0].c`. */
export function formatPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** Thrown where a caller wants an exception instead of an issue list. */
export class ConfigValidationError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.document !== undefined ? `document ${i.document}: ` : ''}${i.path ? `${i.path}: ` : ''}${i.message}`).join('; '));
    this.name = 'ConfigValidationError';
    this.issues = issues;
  }
}
