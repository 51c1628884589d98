import { FIELD_VALUE_MESSAGE, isFieldValue } from '@tollgate/model';
import { z } from 'zod';
import { fieldName } from '../field-name.js';
import { parseTemplate, TemplateError } from './template.js';

/** Default cap of a body buffered for a JSON transformation (1 MiB). */
export const DEFAULT_TRANSFORM_BODY_BYTES = 1_048_576;

/**
 * A value template: refused at apply when it references nothing known (see template.ts), so a
 * typo such as `{consumer.nmae}` never reaches a gateway.
 */
export const templateString = z
  .string()
  .max(4096)
  .superRefine((s, ctx) => {
    try {
      parseTemplate(s);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      ctx.addIssue({ code: 'custom', message: `invalid template: ${err.message}` });
    }
  });

/**
 * A header value template. Its literal text is sent as is, so it must be an RFC 9110 §5.5 field
 * value (checked here, at apply, once); what references insert comes from the request and is
 * checked when rendered (see the transformers).
 */
export const headerTemplate = templateString.refine(isFieldValue, FIELD_VALUE_MESSAGE);

/** Fields the gateway owns on the wire; changing them through a transformer would break framing or routing. */
const PROTECTED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer']);

export const headerName = fieldName
  .refine((s) => !PROTECTED.has(s), 'is managed by the gateway (framing, Host) and cannot be transformed')
  // The identity headers are the authentication policies' to set: a template copying a client
  // header into X-Consumer-Name would let callers claim any identity.
  .refine((s) => !s.startsWith('x-consumer-'), 'X-Consumer-* headers are set by the authentication policies and cannot be transformed');

const UNSAFE_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/** A JSON field path, `a.b.c`. */
export const jsonPath = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => s.split('.').every((p) => p !== '' && !UNSAFE_SEGMENTS.has(p)), 'must be dot-separated field names (no empty segment, no __proto__/prototype/constructor)');

const renameOf = <T extends z.ZodType>(name: T) => z.array(z.strictObject({ from: name, to: name })).max(100).default([]);

/** A JSON value for `add` / `set`: strings are templates, anything else is a constant. */
const jsonValue = z.unknown().superRefine((v, ctx) => {
  if (v === undefined) ctx.addIssue({ code: 'custom', message: 'a value is required' });
  else if (typeof v === 'string') {
    try {
      parseTemplate(v);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      ctx.addIssue({ code: 'custom', message: `invalid template: ${err.message}` });
    }
  }
});

export const headerOpsSchema = z
  .strictObject({
    remove: z.array(headerName).max(100).default([]).describe('Header names to remove.'),
    rename: renameOf(headerName).describe('Headers to rename (value kept), `{ from, to }`.'),
    set: z.record(headerName, headerTemplate).default({}).describe('Headers to set, replacing any value; the value is a template (a value rendered from the request that is not a field value refuses the request with 400 INVALID_HEADER_VALUE).'),
    add: z.record(headerName, headerTemplate).default({}).describe('Headers to add when absent; the value is a template (as for `set`).'),
  })
  .default({ remove: [], rename: [], set: {}, add: {} });

export const bodyOpsSchema = z
  .strictObject({
    remove: z.array(jsonPath).max(100).default([]).describe('JSON fields to remove (`a.b` reaches into objects).'),
    rename: renameOf(jsonPath).describe('JSON fields to move, `{ from, to }`.'),
    set: z.record(jsonPath, jsonValue).default({}).describe('JSON fields to set (created or replaced); strings are templates, other JSON values constants.'),
    add: z.record(jsonPath, jsonValue).default({}).describe('JSON fields to add when absent; strings are templates, other JSON values constants.'),
  })
  .default({ remove: [], rename: [], set: {}, add: {} });

const queryName = z.string().min(1).max(256);

export const requestTransformerSchema = z
  .strictObject({
    headers: headerOpsSchema.describe('Request header changes, applied in the order remove, rename, set, add.'),
    query: z
      .strictObject({
        remove: z.array(queryName).max(100).default([]).describe('Query parameters to remove (every occurrence).'),
        rename: renameOf(queryName).describe('Query parameters to rename, `{ from, to }`.'),
        set: z.record(queryName, templateString).default({}).describe('Query parameters to set, replacing any occurrence; the value is a template.'),
        add: z.record(queryName, templateString).default({}).describe('Query parameters to add when absent; the value is a template.'),
      })
      .default({ remove: [], rename: [], set: {}, add: {} })
      .describe('Query string changes, applied in the order remove, rename, set, add.'),
    body: bodyOpsSchema.describe('JSON body changes (only for `application/json` and `+json` bodies; others pass unchanged). The body is buffered for routes that use them.'),
    maxBodyBytes: z.number().int().min(1).max(67_108_864).default(DEFAULT_TRANSFORM_BODY_BYTES).describe('Largest request body buffered for a body change; a larger one is refused 413 BODY_TOO_LARGE.'),
  })
  .describe('Changes the request on its way upstream: headers, query parameters and JSON body fields, with templates over the request and the authenticated consumer (`{consumer.name}`, `{header.x}`, `{claims.sub}` ...).');

export type RequestTransformerConfig = z.output<typeof requestTransformerSchema>;
export type HeaderOpsConfig = z.output<typeof headerOpsSchema>;
