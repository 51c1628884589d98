import type { CST } from 'yaml';
import { formatPath, type ConfigIssue } from './issues.js';

/**
 * Deepest nesting of mappings and sequences accepted in operator input (YAML or JSON). Real
 * resources nest a dozen levels (an embedded JSON Schema a few dozen more); the YAML composer,
 * zod and the stores walk values recursively, and a document nested thousands of levels deep
 * overflows their stack — near V8's limit that can even abort the process rather than throw.
 */
export const MAX_NESTING_DEPTH = 128;

/**
 * Refusal of U+0000 (NUL) in operator input. PostgreSQL cannot store it in `text` nor in `jsonb`
 * (a `\u0000` escape in jsonb is refused: docs "JSON Types", §8.14), so a NUL anywhere in a
 * name, label, secret or spec would fail only when the store writes it, as a driver error. No
 * configuration value needs one: input is refused where it is parsed, with the path.
 */
export function nulIssue(path: readonly PropertyKey[]): ConfigIssue {
  return { code: 'nul_character', message: 'contains U+0000 (NUL), which no text field may hold', path: formatPath(path) };
}

/**
 * Path of the first string (value or object key) holding U+0000 in a parsed value, or undefined.
 * Walked with an explicit stack (input nested up to MAX_NESTING_DEPTH, and more when not checked).
 */
export function nulCharacterPath(value: unknown): PropertyKey[] | undefined {
  const stack: Array<[unknown, PropertyKey[]]> = [[value, []]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, path] = top;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], [...path, i]]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i] as [string, unknown];
        if (k.includes('\u0000')) return [...path, k];
        stack.push([child, [...path, k]]);
      }
    }
  }
  return undefined;
}

/**
 * Deepest collection nesting of a YAML CST token, walked with an explicit stack (the point is
 * to measure input that would overflow a recursive walk). Returns the offset of the first
 * collection beyond `limit`, or undefined when the token stays within it.
 */
export function cstTooDeep(root: CST.Token, limit: number = MAX_NESTING_DEPTH): number | undefined {
  const stack: Array<[CST.Token, number]> = [[root, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [token, depth] = top;
    switch (token.type) {
      case 'document':
        if (token.value) stack.push([token.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        if (depth + 1 > limit) return token.offset;
        for (const item of token.items) {
          if ('key' in item && item.key) stack.push([item.key, depth + 1]);
          if ('value' in item && item.value) stack.push([item.value, depth + 1]);
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/**
 * The value of a JSON string literal (quotes included). The scan may run before JSON.parse has
 * seen the text (large bodies): a malformed escape is left as written, for JSON.parse to report.
 */
function decodeString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

/** Finds the end of the JSON string literal opening at `start` (index of its closing quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) return i;
    if (c === 0x5c /* \ */) i += 2;
    else if (Number.isNaN(c)) return text.length;
    else i++;
  }
}

interface ObjectFrame {
  readonly keys: Set<string>;
  key: string | undefined;
  expectKey: boolean;
}
interface ArrayFrame {
  index: number;
}
type Frame = ObjectFrame | ArrayFrame;

/** The outcome of {@link jsonStructureSteps}. */
export interface JsonStructure {
  /** The first duplicate name, over-deep nesting or NUL character, or undefined. */
  issue: ConfigIssue | undefined;
  /**
   * When the text is one array (whitespace around it only): the [start, end) offsets of each of
   * its elements, so a large array can be parsed an element at a time (see the admin's JSON body
   * parser). Undefined for any other text. Like the issue, only meaningful for text JSON.parse
   * accepts: the scan looks at strings, brackets and commas only.
   */
  elements: Array<[number, number]> | undefined;
}

/** Characters scanned between two yields of {@link jsonStructureSteps}. */
const SCAN_STEP_CHARS = 32 * 1024;

/**
 * Checks what JSON.parse lets through silently in syntactically valid JSON text: a name given
 * twice in one object (RFC 8259 §4: names SHOULD be unique; JSON.parse keeps the last, while
 * the YAML parser refuses duplicates, so the two body formats would disagree), nesting
 * beyond `limit`, and a string or name holding U+0000 (see {@link nulIssue}). One linear pass with an explicit stack, yielding about every 32 KiB of text so
 * a serving process can run it in slices (`runSliced`: a 4 MB apply body took 100-280 ms in one
 * piece, #16). Also records the elements of a top-level array.
 */
export function* jsonStructureSteps(text: string, limit: number = MAX_NESTING_DEPTH): Generator<void, JsonStructure> {
  const stack: Frame[] = [];
  const path = (): PropertyKey[] => stack.map((f) => ('keys' in f ? (f.key ?? '') : f.index));
  const first = firstNonSpace(text, 0);
  const rootArray = text.charCodeAt(first) === 0x5b; /* [ */
  const elements: Array<[number, number]> = [];
  let elementStart = first + 1;
  let rootEnd = -1;
  let nextYield = SCAN_STEP_CHARS;
  for (let i = 0; i < text.length; i++) {
    if (i >= nextYield) {
      yield;
      nextYield = i + SCAN_STEP_CHARS;
    }
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      const raw = text.slice(i + 1, end);
      // JSON text carries a NUL only as an escape (RFC 8259 §7: control characters must be escaped).
      const decoded = raw.includes('\\') ? decodeString(text.slice(i, end + 1)) : raw;
      const nul = decoded.includes('\u0000');
      if (top !== undefined && 'keys' in top && top.expectKey) {
        // Escapes are decoded so that "a" and "\u0061" count as the same name.
        const key = decoded;
        top.key = key;
        top.expectKey = false;
        if (nul) return { issue: nulIssue(path()), elements: undefined };
        if (top.keys.has(key)) return { issue: { code: 'duplicate_key', message: `duplicate key ${JSON.stringify(key)} (a name may appear once per object)`, path: formatPath(path()) }, elements: undefined };
        top.keys.add(key);
      } else if (nul) {
        return { issue: nulIssue(path()), elements: undefined };
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length + 1 > limit) return { issue: { code: 'too_deep', message: `nested deeper than ${limit} levels`, path: formatPath(path()) }, elements: undefined };
      stack.push(c === 0x7b ? { keys: new Set(), key: undefined, expectKey: true } : { index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      if (stack.length === 0 && rootEnd === -1) {
        rootEnd = i;
        if (rootArray) elements.push([elementStart, i]);
      }
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top === undefined) continue;
      if ('keys' in top) top.expectKey = true;
      else top.index++;
      if (stack.length === 1 && rootArray) {
        elements.push([elementStart, i]);
        elementStart = i + 1;
      }
    }
  }
  const whole = rootArray && rootEnd !== -1 && firstNonSpace(text, rootEnd + 1) === text.length;
  return { issue: undefined, elements: whole ? elements : undefined };
}

/** Index of the first character at or after `from` that is not JSON whitespace (RFC 8259 §2), or text.length. */
function firstNonSpace(text: string, from: number): number {
  let i = from;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
  }
  return i;
}

/**
 * {@link jsonStructureSteps} in one go: the first duplicate name or over-deep nesting of
 * syntactically valid JSON text, or undefined.
 */
export function jsonStructureIssue(text: string, limit: number = MAX_NESTING_DEPTH): ConfigIssue | undefined {
  const steps = jsonStructureSteps(text, limit);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value.issue;
  }
}
