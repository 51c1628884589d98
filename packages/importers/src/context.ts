import { formatPath, type ConfigIssue, type SourceDocument } from '@tollgate/model';

/** Something in a foreign document Tollgate does not implement; reported, never silently dropped. */
export interface ImportWarning {
  /** Zero-based index of the document in the submitted set. */
  document: number;
  /** `Kind/name` of the foreign object, e.g. `VirtualService/reviews`. */
  resource: string;
  /** Field path inside the document, e.g. `spec.http[0].fault.abort.grpcStatus`. */
  path: string;
  message: string;
}

type Path = readonly (string | number)[];
type Json = Record<string, unknown>;

/** Collects warnings and issues while reading one foreign document, with typed field access. */
export class DocReader {
  constructor(
    readonly doc: SourceDocument,
    readonly resource: string,
    private readonly warnings: ImportWarning[],
    private readonly issues: ConfigIssue[],
  ) {}

  /** Records a field Tollgate does not implement (or implements differently). */
  warn(path: Path, message: string): void {
    this.warnings.push({ document: this.doc.index, resource: this.resource, path: formatPath(path), message });
  }

  /** Records a malformed or untranslatable field: the whole apply is rejected. */
  error(path: Path, message: string, code = 'invalid_field'): void {
    const issue: ConfigIssue = { code, message, document: this.doc.index, resource: this.resource, path: formatPath(path) };
    const line = this.doc.lineOf?.(path);
    if (line !== undefined) issue.line = line;
    this.issues.push(issue);
  }

  /** Warns about every key of `value` not in `handled`, so nothing is dropped without a word. */
  only(value: Json | undefined, path: Path, handled: readonly string[]): void {
    if (!value) return;
    for (const k of Object.keys(value)) if (!handled.includes(k)) this.warn([...path, k], `"${k}" is not supported by Tollgate and is ignored`);
  }

  obj(value: unknown, path: Path): Json | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'object' && !Array.isArray(value)) return value as Json;
    this.error(path, 'must be a mapping', 'invalid_type');
    return undefined;
  }

  arr(value: unknown, path: Path): unknown[] {
    if (value === undefined || value === null) return [];
    if (Array.isArray(value)) return value;
    this.error(path, 'must be a list', 'invalid_type');
    return [];
  }

  str(value: unknown, path: Path): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    this.error(path, 'must be a string', 'invalid_type');
    return undefined;
  }

  num(value: unknown, path: Path): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    this.error(path, 'must be a number', 'invalid_type');
    return undefined;
  }

  bool(value: unknown, path: Path): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    this.error(path, 'must be true or false', 'invalid_type');
    return undefined;
  }

  /** A string-to-string map (labels, selectors). */
  labels(value: unknown, path: Path): Record<string, string> {
    const o = this.obj(value, path);
    const out: Record<string, string> = {};
    if (!o) return out;
    for (const [k, v] of Object.entries(o)) {
      const s = this.str(v, [...path, k]);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }

  /** An Istio / protobuf duration such as `1.5s`, `100ms`, `2m`, `1h`, in milliseconds (rounded up to 1). */
  duration(value: unknown, path: Path): number | undefined {
    const s = this.str(value, path);
    if (s === undefined) return undefined;
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
    if (!m) {
      this.error(path, `"${s}" is not a duration such as 100ms, 1.5s, 2m or 1h`, 'invalid_duration');
      return undefined;
    }
    const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    return Math.max(1, Math.round(Number(m[1]) * factor));
  }
}

/** Escapes a literal for an RE2 pattern. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** Turns an arbitrary host or object name into a Tollgate resource-name fragment. */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[.-]+|[.-]+$/g, '') || 'x';
}
