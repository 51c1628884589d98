import { z } from 'zod';
import { EVENT_EXAMPLES, EVENT_SCHEMAS, EVENT_TYPES } from './events.js';
import { KIND_SCHEMAS, RESOURCE_KINDS } from './resources.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  additionalProperties?: JsonSchema | boolean;
  minimum?: number;
  maximum?: number;
  minItems?: number;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  if (s.anyOf) return s.anyOf.map((alt) => (alt.properties ? `{ ${Object.keys(alt.properties).join(', ')} }` : typeOf(alt))).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties) {
    const values = typeof s.additionalProperties === 'object' && s.additionalProperties.type ? typeOf(s.additionalProperties) : 'any';
    return `map of string to ${values}`;
  }
  const t = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  const range = s.minimum !== undefined && s.maximum !== undefined ? ` (${s.minimum}–${s.maximum})` : '';
  return t + range;
}

function rows(schema: JsonSchema, prefix: string, out: string[]): void {
  const props = schema.properties ?? {};
  for (const [name, prop] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const required = schema.required?.includes(name) && prop.default === undefined;
    const def = prop.default === undefined ? '' : `\`${JSON.stringify(prop.default)}\``;
    const desc = (prop.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
    out.push(`| \`${path}\` | ${typeOf(prop)} | ${required ? 'yes' : ''} | ${def} | ${desc} |`);
    const inner = prop.type === 'array' ? prop.items : prop;
    if (inner?.anyOf) inner.anyOf.forEach((alt) => rows(alt, prop.type === 'array' ? `${path}[]` : path, out));
    else if (inner?.properties) rows(inner, prop.type === 'array' ? `${path}[]` : path, out);
  }
}

/** Markdown reference of every field of every kind, generated from the schemas (docs/resources.md). */
export function renderResourceReference(): string {
  const parts = [
    '# Resource reference',
    '',
    'Generated from the schemas in `packages/model` (`npm run docs:resources`); a test fails when this file',
    'and the schemas disagree. Every document has `apiVersion: tollgate.dev/v1`, a `kind`, `metadata`',
    '(`name`, optional `labels` and `annotations`) and a `spec`. Unknown fields are rejected.',
  ];
  for (const kind of RESOURCE_KINDS) {
    const schema = z.toJSONSchema(KIND_SCHEMAS[kind], { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    const out: string[] = [];
    rows(schema, 'spec', out);
    parts.push('', `## ${kind}`, '', schema.description ?? '', '', '| field | type | required | default | description |', '| --- | --- | --- | --- | --- |', ...out);
  }
  return `${parts.join('\n')}\n`;
}

/** Start and end markers of the generated catalogue inside docs/events.md. */
export const EVENT_CATALOGUE_BEGIN = '<!-- generated: event catalogue (npm run docs:events) -->';
export const EVENT_CATALOGUE_END = '<!-- end of generated event catalogue -->';

/** Markdown of every event type: description, `data` fields and an example message (docs/events.md). */
export function renderEventCatalogue(): string {
  const parts = [EVENT_CATALOGUE_BEGIN];
  for (const type of EVENT_TYPES) {
    const schema = z.toJSONSchema(EVENT_SCHEMAS[type], { io: 'output', unrepresentable: 'any' }) as JsonSchema;
    const out: string[] = [];
    rows(schema, 'data', out);
    // Plain integers: the safe-integer range zod reports says nothing to a reader.
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as string).replace(' (-9007199254740991–9007199254740991)', '').replace(/ \((\d+)–9007199254740991\)/, ' (≥ $1)');
    const example = JSON.stringify({ type, timestamp: '2026-12-07T06:00:00.000Z', data: EVENT_EXAMPLES[type] }, null, 2);
    parts.push('', `### \`${type}\``, '', schema.description ?? '', '', '| field | type | required | default | description |', '| --- | --- | --- | --- | --- |', ...out, '', '```json', example, '```');
  }
  parts.push('', EVENT_CATALOGUE_END);
  return `${parts.join('\n')}\n`;
}
