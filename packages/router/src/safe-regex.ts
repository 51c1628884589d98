import { RE2JS } from 're2js';

/**
 * A compiled RE2 pattern. RE2 (via the pure-JavaScript port `re2js`) matches in time linear in the
 * input, whatever the pattern: no catastrophic backtracking (ReDoS) is possible, so operators may
 * write any pattern it accepts. Backreferences and lookarounds are refused at compile time.
 */
export type SafeRegex = RE2JS;

/** Upper bound on a compiled program, so one pattern cannot make the matcher's automaton huge. */
const MAX_PROGRAM_SIZE = 5_000;

/** Result of {@link compileSafeRegex}. */
export type SafeRegexResult = { ok: true; regex: SafeRegex } | { ok: false; message: string };

/** Compiles an RE2 pattern, or explains why it was refused (syntax, unsupported feature, too large). */
export function compileSafeRegex(pattern: string): SafeRegexResult {
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(pattern);
  } catch (err) {
    return { ok: false, message: `not a valid RE2 regular expression: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (regex.programSize() > MAX_PROGRAM_SIZE) return { ok: false, message: `the regular expression is too large (program size ${regex.programSize()} > ${MAX_PROGRAM_SIZE})` };
  return { ok: true, regex };
}

/** Compiles a pattern already validated by the compiler; throws if it is not valid. */
export function mustCompileRegex(pattern: string): SafeRegex {
  const r = compileSafeRegex(pattern);
  if (!r.ok) throw new Error(r.message);
  return r.regex;
}

/** Named groups of a compiled pattern with their group numbers. */
export function namedGroups(regex: SafeRegex): Readonly<Record<string, number>> {
  return regex.namedGroups();
}
