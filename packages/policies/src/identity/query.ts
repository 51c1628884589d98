/** Result of taking parameters out of a raw query string. */
export interface TakenParams {
  /** Decoded values of the taken parameters, in order (empty when none was present). */
  values: string[];
  /** The query without them (raw, otherwise unchanged), or null when nothing is left. */
  rest: string | null;
}

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return null;
  }
}

/**
 * Removes every parameter named in `names` (compared after decoding, case-sensitively as URLs
 * are) from a raw query and returns their values. Other pairs are kept byte for byte. An
 * undecodable value is returned as the empty string, so it is still removed and fails lookup.
 */
export function takeQueryParams(query: string | null, names: ReadonlySet<string>): TakenParams {
  if (query === null || names.size === 0) return { values: [], rest: query };
  const values: string[] = [];
  const kept: string[] = [];
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (name !== null && names.has(name)) values.push(eq === -1 ? '' : (decode(pair.slice(eq + 1)) ?? ''));
    else kept.push(pair);
  }
  if (values.length === 0) return { values, rest: query };
  return { values, rest: kept.length > 0 ? kept.join('&') : null };
}
