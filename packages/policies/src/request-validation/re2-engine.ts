import { RE2JS } from 're2js';

/** Upper bound on a compiled pattern program (as packages/router/src/safe-regex.ts). */
const MAX_PROGRAM_SIZE = 5_000;

const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Rewrites the ECMA-262 escapes JSON Schema patterns use (JSON Schema 2020-12 §6.4: patterns are
 * ECMA-262 regular expressions) that RE2 spells differently: `\uXXXX` (a surrogate pair as one
 * code point) and `\u{X…}` become `\x{…}`. Everything else is passed through unchanged; what RE2
 * does not support (lookarounds, backreferences) fails to compile and the schema is refused.
 */
export function ecmaToRe2(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = pattern[i + 1];
    if (next === 'u') {
      const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(pattern.slice(i + 2, i + 11));
      if (braced) {
        out += `\\x{${braced[1] as string}}`;
        i += 1 + braced[0].length;
        continue;
      }
      const hex = pattern.slice(i + 2, i + 6);
      if (HEX4.test(hex)) {
        let cp = Number.parseInt(hex, 16);
        i += 5;
        const low = pattern.slice(i + 1, i + 7);
        if (cp >= 0xd800 && cp <= 0xdbff && /^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(low)) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (Number.parseInt(low.slice(2), 16) - 0xdc00);
          i += 6;
        }
        out += `\\x{${cp.toString(16)}}`;
        continue;
      }
    }
    // Any other escape is copied as a pair, so `\\u0041` stays a backslash followed by "u0041".
    out += next === undefined ? c : c + next;
    i++;
  }
  return out;
}

/** What ajv calls `.test` on: a compiled RE2 pattern searched anywhere in the string (unanchored, as ECMA `test`). */
class Re2Pattern {
  constructor(
    private readonly source: string,
    private readonly re: RE2JS,
  ) {}
  test(s: string): boolean {
    return this.re.test(s);
  }
  toString(): string {
    return this.source;
  }
}

/**
 * ajv's `code.regExp` engine: every `pattern` and `patternProperties` of a request-validation
 * schema runs on RE2 (linear time in the input), never on the backtracking ECMA engine, where
 * one request value could block the event loop for seconds (ReDoS). Compiled once, when the
 * schema is compiled at apply / snapshot build; a pattern RE2 cannot run is refused there.
 */
export function re2RegExp(pattern: string): Re2Pattern {
  let re: RE2JS;
  try {
    re = RE2JS.compile(ecmaToRe2(pattern));
  } catch (err) {
    throw new Error(`pattern ${JSON.stringify(pattern)} is not supported (patterns run on RE2, without lookarounds or backreferences): ${err instanceof Error ? err.message : String(err)}`);
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) throw new Error(`pattern ${JSON.stringify(pattern)} is too large (program size ${re.programSize()} > ${MAX_PROGRAM_SIZE})`);
  return new Re2Pattern(pattern, re);
}
// ajv names the engine in generated standalone code; Tollgate never emits standalone code.
re2RegExp.code = 're2RegExp';
