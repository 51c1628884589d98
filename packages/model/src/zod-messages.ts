import type { z } from 'zod';

/** zod's own messages start like this; a message a schema wrote itself is kept as it is. */
const ZOD_DEFAULT = /^(Too small|Too big|Invalid input|Invalid option|Invalid string|Invalid ISO|Invalid [A-Za-z0-9 ]+$|Invalid$)/;

const FORMATS: Record<string, string> = {
  datetime: 'an RFC 3339 date-time such as 2026-12-01T00:00:00Z',
  date: 'a date such as 2026-12-01',
  url: 'a URL',
  email: 'an email address',
  uuid: 'a UUID',
  regex: 'in the expected form',
};

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${Number(n) === 1 ? '' : 's'}`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * zod's default issue texts (`Too small: expected array to have >=1 items`) as the short
 * sentences the rest of Tollgate's messages use (`must have at least 1 item`). Custom messages
 * written in the schemas pass through.
 */
export function sentenceOf(issue: z.core.$ZodIssue): string {
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const inclusive = issue.inclusive !== false;
      const word = issue.code === 'too_small' ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
      if (issue.origin === 'array' || issue.origin === 'set') return `must have ${word} ${plural(bound, 'item')}`;
      if (issue.origin === 'string') return `must be ${word} ${plural(bound, 'character')} long`;
      if (issue.origin === 'date') return `must be ${issue.code === 'too_small' ? 'on or after' : 'on or before'} ${new Date(Number(bound)).toISOString()}`;
      return `must be ${word} ${String(bound)}`;
    }
    case 'invalid_type': {
      if (/received undefined/.test(issue.message)) return 'is required';
      return `must be ${article(String(issue.expected))}`;
    }
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `must be ${FORMATS[issue.format] ?? `a valid ${issue.format}`}`;
    case 'invalid_union':
      return 'does not match any allowed form';
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message;
  }
}
