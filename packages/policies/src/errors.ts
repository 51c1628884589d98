import type { ErrorSpec, PolicyProblem, PolicyReply, ValidationIssue } from './types.js';

/**
 * Declares a group of errors, filling each spec's `code` from its key so a code is written once.
 * The result is frozen: replies built from it are shared by every request.
 */
export function defineErrors<const K extends string>(specs: { readonly [k in K]: Omit<ErrorSpec, 'code'> }): { readonly [k in K]: ErrorSpec & { readonly code: k } } {
  const out: Record<string, ErrorSpec> = {};
  for (const [code, spec] of Object.entries(specs) as Array<[string, Omit<ErrorSpec, 'code'>]>) out[code] = Object.freeze({ code, ...spec });
  return Object.freeze(out) as { readonly [k in K]: ErrorSpec & { readonly code: k } };
}

/** The problem body of a declared error (code and title from the declaration). */
export function problemOf(spec: ErrorSpec, detail: string, errors?: readonly ValidationIssue[]): PolicyProblem {
  return errors === undefined ? { code: spec.code, title: spec.title, detail } : { code: spec.code, title: spec.title, detail, errors };
}

/**
 * A reply with a declared error: status, code and title come from `spec`, so the catalogue and
 * what clients receive cannot differ. `status` overrides the declared one only for errors whose
 * status is configured (declared as 0).
 */
export function problemReply(spec: ErrorSpec, detail: string, options: { readonly headers?: Readonly<Record<string, string>>; readonly errors?: readonly ValidationIssue[] } = {}): PolicyReply {
  return {
    status: spec.status,
    ...(options.headers !== undefined ? { headers: options.headers } : {}),
    body: problemOf(spec, detail, options.errors),
  };
}
