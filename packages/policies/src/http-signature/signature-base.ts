import { parseDictionary, serializeInnerList, serializeItem, type InnerList, type Item } from 'structured-headers';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * RFC 9421 signature base construction (§2.5) for requests, over the derived components of §2.2
 * and plain header fields (§2.1). Component parameters (`sf`, `bs`, `key`, `req`, `tr`, `name`) are
 * not supported: a signature using them is refused as malformed rather than verified against a
 * different serialization. Structured-field parsing and serialization are the `structured-headers`
 * library's (RFC 8941), the part where a hand-written parser would go wrong.
 */

/** What the signer saw of the request, as the gateway reconstructs it. */
export interface SignedRequest {
  readonly method: string;
  /** `http` or `https`, lower case. */
  readonly scheme: string;
  /** Host and port as the client addressed them (the Host field), lower case (RFC 9421 §2.2.3). */
  readonly authority: string;
  /** Absolute path, never empty. */
  readonly path: string;
  /** Query without `?`, or null. */
  readonly query: string | null;
  readonly headers: IncomingHttpHeaders;
}

/** One signature of a request, parsed from `Signature-Input` and `Signature`. */
export interface ParsedSignature {
  readonly label: string;
  /** Covered component names, in order (`@method`, `content-digest`, …). */
  readonly components: readonly string[];
  readonly params: ReadonlyMap<string, unknown>;
  /** The inner list as received, for the `@signature-params` line. */
  readonly inner: InnerList;
  readonly signature: Buffer;
}

/** A problem with the signature's syntax (answered as SIGNATURE_INVALID with this detail). */
export class SignatureSyntaxError extends Error {}

/** Parses the chosen signature (`label`, else the first in `Signature-Input`); throws SignatureSyntaxError. */
export function parseSignature(input: string, signature: string, label: string | undefined): ParsedSignature {
  let inputs: ReturnType<typeof parseDictionary>;
  let sigs: ReturnType<typeof parseDictionary>;
  try {
    inputs = parseDictionary(input);
    sigs = parseDictionary(signature);
  } catch {
    throw new SignatureSyntaxError('Signature-Input or Signature is not an RFC 8941 dictionary');
  }
  const name = label ?? inputs.keys().next().value;
  if (name === undefined) throw new SignatureSyntaxError('Signature-Input names no signature');
  const entry = inputs.get(name);
  const sig = sigs.get(name);
  if (entry === undefined || sig === undefined) throw new SignatureSyntaxError(`no signature labelled "${name}" in both Signature-Input and Signature`);
  if (!Array.isArray(entry[0])) throw new SignatureSyntaxError(`Signature-Input "${name}" is not an inner list`);
  if (!(sig[0] instanceof ArrayBuffer)) throw new SignatureSyntaxError(`Signature "${name}" is not a byte sequence`);
  const components: string[] = [];
  const seen = new Set<string>();
  for (const item of entry[0] as Item[]) {
    if (typeof item[0] !== 'string') throw new SignatureSyntaxError('a covered component is not a string');
    if (item[1].size > 0) throw new SignatureSyntaxError(`component parameters are not supported ("${item[0]}")`);
    // RFC 9421 §3.2 step 3: a component identifier must not repeat.
    if (seen.has(item[0])) throw new SignatureSyntaxError(`component "${item[0]}" is covered twice`);
    seen.add(item[0]);
    components.push(item[0]);
  }
  return { label: name, components, params: entry[1], inner: entry as InnerList, signature: Buffer.from(sig[0]) };
}

/**
 * The signature base (RFC 9421 §2.5) of `sig` over `req`, or the name of a covered component the
 * request does not have (the signature then cannot verify: §2.5 step 2.4 fails).
 */
export function signatureBase(sig: ParsedSignature, req: SignedRequest): { ok: true; base: string } | { ok: false; absent: string } {
  let out = '';
  for (const name of sig.components) {
    const value = componentValue(name, req);
    if (value === undefined) return { ok: false, absent: name };
    out += `${serializeItem([name, new Map()])}: ${value}\n`;
  }
  out += `"@signature-params": ${serializeInnerList(sig.inner)}`;
  return { ok: true, base: out };
}

function componentValue(name: string, req: SignedRequest): string | undefined {
  switch (name) {
    case '@method':
      return req.method;
    case '@scheme':
      return req.scheme;
    case '@authority':
      return req.authority;
    case '@path':
      return req.path;
    // §2.2.7: an absent or empty query is the lone "?".
    case '@query':
      return `?${req.query ?? ''}`;
    case '@request-target':
      return req.query !== null ? `${req.path}?${req.query}` : req.path;
    case '@target-uri':
      return `${req.scheme}://${req.authority}${req.path}${req.query !== null ? `?${req.query}` : ''}`;
    default: {
      if (name.startsWith('@')) return undefined;
      const v = req.headers[name];
      if (v === undefined) return undefined;
      // §2.1: each value trimmed, several field lines joined with ", ".
      return Array.isArray(v) ? v.map((x) => x.trim()).join(', ') : v.trim();
    }
  }
}

/** Which required components a signature misses; `@target-uri` and `@request-target` cover their parts. */
export function missingComponents(covered: readonly string[], required: readonly string[]): string[] {
  const has = new Set(covered);
  if (has.has('@target-uri')) for (const c of ['@scheme', '@authority', '@path', '@query', '@request-target']) has.add(c);
  if (has.has('@request-target')) for (const c of ['@path', '@query']) has.add(c);
  return required.filter((c) => !has.has(c));
}
