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

/**
 * Checks what JSON.parse lets through silently in syntactically valid JSON text: a name given
 * twice in one object (RFC 8259 §4: names SHOULD be unique; JSON.parse keeps the last, while
 * the YAML parser refuses duplicates, so the two body formats would disagree), and nesting
 * beyond `limit`. One linear pass with an explicit stack; the text must already have passed
 * JSON.parse (only strings and brackets are looked at). Returns the first issue, or undefined.
 */
export function jsonStructureIssue(text: string, limit: number = MAX_NESTING_DEPTH): ConfigIssue | undefined {
  const stack: Frame[] = [];
  const path = (): PropertyKey[] => stack.map((f) => ('keys' in f ? (f.key ?? '') : f.index));
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top !== undefined && 'keys' in top && top.expectKey) {
        const raw = text.slice(i + 1, end);
        // Escapes are decoded so that "a" and "\u0061" count as the same name.
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        top.key = key;
        top.expectKey = false;
        if (top.keys.has(key)) return { code: 'duplicate_key', message: `duplicate key ${JSON.stringify(key)} (a name may appear once per object)`, path: formatPath(path()) };
        top.keys.add(key);
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length + 1 > limit) return { code: 'too_deep', message: `nested deeper than ${limit} levels`, path: formatPath(path()) };
      stack.push(c === 0x7b ? { keys: new Set(), key: undefined, expectKey: true } : { index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top === undefined) continue;
      if ('keys' in top) top.expectKey = true;
      else top.index++;
    }
  }
  return undefined;
}
