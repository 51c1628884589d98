import { mustCompileRegex, type SafeRegex } from './safe-regex.js';

/** How one header or query value is matched (the model's string match, in plain form). */
export type ValueMatch =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly regex: string }
  | { readonly present: true }
  | { readonly absent: true };

/** A condition on one named field (header or query parameter). */
export interface FieldCondition {
  /** Lower-case for headers; as written for query parameters. */
  readonly name: string;
  readonly match: ValueMatch;
}

/** Condition kinds as small integers, so the per-request test is a switch on a number. */
const Kind = { Exact: 0, Prefix: 1, Regex: 2, Present: 3, Absent: 4 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

/** A condition compiled once per snapshot: a kind tag and a precompiled value. */
export interface CompiledCondition {
  readonly name: string;
  readonly kind: Kind;
  readonly text: string;
  readonly regex: SafeRegex | null;
}

/** Compiles conditions (regexes with RE2); null when there are none, so the hot path tests `!== null`. */
export function compileConditions(list: readonly FieldCondition[] | undefined): readonly CompiledCondition[] | null {
  if (list === undefined || list.length === 0) return null;
  return Object.freeze(
    list.map((c): CompiledCondition => {
      const m = c.match;
      if ('exact' in m) return { name: c.name, kind: Kind.Exact, text: m.exact, regex: null };
      if ('prefix' in m) return { name: c.name, kind: Kind.Prefix, text: m.prefix, regex: null };
      if ('regex' in m) return { name: c.name, kind: Kind.Regex, text: m.regex, regex: mustCompileRegex(m.regex) };
      if ('present' in m) return { name: c.name, kind: Kind.Present, text: '', regex: null };
      return { name: c.name, kind: Kind.Absent, text: '', regex: null };
    }),
  );
}

/** Tests one value (undefined = field absent) against a compiled condition. */
export function testValue(c: CompiledCondition, value: string | undefined): boolean {
  switch (c.kind) {
    case Kind.Absent:
      return value === undefined;
    case Kind.Present:
      return value !== undefined;
    case Kind.Exact:
      return value === c.text;
    case Kind.Prefix:
      return value !== undefined && value.startsWith(c.text);
    default:
      // RE2 full match (anchored at both ends), as Istio's `regex` matches the whole value.
      return value !== undefined && (c.regex as SafeRegex).testExact(value);
  }
}

/** Request headers as Node gives them (lower-case names). */
export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/** Every header condition holds. Repeated fields are combined with ", " (RFC 9110 §5.3). */
export function headersMatch(conds: readonly CompiledCondition[], headers: HeaderBag): boolean {
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i] as CompiledCondition;
    const raw = headers[c.name];
    const v = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!testValue(c, v)) return false;
  }
  return true;
}

/** Every query condition holds; `params` is parsed once per request, only when needed. */
export function queryMatches(conds: readonly CompiledCondition[], params: URLSearchParams): boolean {
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i] as CompiledCondition;
    const v = params.get(c.name);
    if (!testValue(c, v === null ? undefined : v)) return false;
  }
  return true;
}
