import { z } from 'zod';
import { httpFieldName, isFieldValue, resourceName } from './common.js';

/** Route actions that convert protocols: REST/JSON to gRPC, gRPC-Web to gRPC, JSON to SOAP. See docs/protocols.md. */

const fieldName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a field path such as "book" or "book.name"');

/** Header names, lower-cased (RFC 9110 token). */
const metadataHeader = httpFieldName.refine((n) => !n.startsWith('grpc-') && !n.startsWith(':') && !['host', 'connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'content-type', 'content-length'].includes(n), 'must not be a reserved gRPC or hop-by-hop header');

const upstreamRef = {
  upstream: resourceName.describe('Name of the Upstream whose targets serve gRPC (HTTP/2 cleartext for `http://` targets, TLS per the upstream `tls` for `https://`).'),
  subset: z.string().min(1).max(63).optional().describe('Name of a subset of that Upstream; default all its targets.'),
};

export const grpcActionSchema = z
  .strictObject({
    ...upstreamRef,
    descriptor: resourceName.describe('Name of the ProtoDescriptor holding the service.'),
    service: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a fully-qualified service name such as "library.v1.Library"')
      .max(512)
      .optional()
      .describe('Fully-qualified service name. Required with `method`; with `useHttpAnnotations` it restricts the bindings to this service.'),
    method: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a method name').max(256).optional().describe('Method of `service` every request of the route calls (explicit mapping).'),
    useHttpAnnotations: z.boolean().default(false).describe('Choose the method by the request method and path from the `google.api.http` options of the descriptor (AIP-127); path variables, body and query fill the request message.'),
    body: z
      .union([z.literal('*'), fieldName])
      .optional()
      .describe('Explicit mapping: where the JSON request body goes: `*` (the whole request message, the default for methods other than GET, HEAD and DELETE) or a field path.'),
    responseBody: fieldName.optional().describe('Explicit mapping: answer with this field of the response message instead of the whole message.'),
    metadataHeaders: z.array(metadataHeader).max(64).default([]).describe('Request headers forwarded as gRPC metadata (lower-cased). `x-request-id` is always sent.'),
    ignoreUnknownQueryParameters: z.boolean().default(false).describe('Ignore query parameters that name no field of the request message; by default they are a 400.'),
    emitDefaults: z.boolean().default(false).describe('Include fields at their default value (0, "", false, empty lists) in JSON responses; proto3 JSON omits them by default.'),
  })
  .describe('Transcode REST/JSON to a unary gRPC call and the response back to JSON. The route `timeoutMs` (else the upstream `responseHeadersMs`) is the deadline.')
  .superRefine((g, ctx) => {
    if (g.useHttpAnnotations && g.method !== undefined) ctx.addIssue({ code: 'custom', path: ['method'], message: 'give either method (explicit mapping) or useHttpAnnotations: true, not both' });
    if (!g.useHttpAnnotations && g.method === undefined) ctx.addIssue({ code: 'custom', path: ['method'], message: 'give service and method, or useHttpAnnotations: true' });
    if (g.method !== undefined && g.service === undefined) ctx.addIssue({ code: 'custom', path: ['service'], message: 'method needs its service' });
    if (g.useHttpAnnotations && (g.body !== undefined || g.responseBody !== undefined)) ctx.addIssue({ code: 'custom', path: [g.body !== undefined ? 'body' : 'responseBody'], message: 'body and responseBody come from the annotations with useHttpAnnotations' });
  });

export const grpcWebActionSchema = z
  .strictObject({
    ...upstreamRef,
    forwardHeaders: z.boolean().default(true).describe('Forward the request headers (except hop-by-hop, Host, cookies and the gRPC-Web framing headers) as gRPC metadata, as gRPC-Web clients send custom metadata as headers.'),
  })
  .describe('Accept gRPC-Web (`application/grpc-web`, `application/grpc-web+proto`, `application/grpc-web-text`) and call the gRPC upstream; no schema needed. Unary and server-streaming calls.');

export const soapActionSchema = z
  .strictObject({
    ...upstreamRef,
    path: z.string().min(1).max(2048).regex(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/, 'must be an absolute path of URL path characters (RFC 3986 pchar, "/" and percent-encodings), without query').describe('Path of the SOAP endpoint on the upstream.'),
    soapAction: z.string().max(1024).refine((s) => isFieldValue(s) && !s.includes('"'), 'must be an HTTP field value (RFC 9110 §5.5: no CR, LF, NUL or other control characters) without a double quote (it is sent quoted)').optional().describe('SOAPAction (SOAP 1.1 header; SOAP 1.2 `action` media-type parameter).'),
    version: z.enum(['1.1', '1.2']).default('1.1').describe('SOAP version: 1.1 (`text/xml`) or 1.2 (`application/soap+xml`).'),
    envelope: z
      .string()
      .min(1)
      .max(262_144)
      .describe('The request envelope as an XML template. `{body.a.b}` (JSON request body), `{path.name}` (route path capture), `{query.name}`, `{header.name}` and `{consumer.name}` (`name`, `customId`, `groups`) are replaced by the XML-escaped value; a missing value is empty.'),
    responsePath: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'must be dot-separated element names (namespace prefixes removed), e.g. "Envelope.Body.GetPriceResponse"')
      .max(1024)
      .default('Envelope.Body')
      .describe('Element of the response (namespace prefixes removed) whose content becomes the JSON body.'),
    parseValues: z.boolean().default(true).describe('Turn numeric and boolean text into JSON numbers and booleans (leading zeros keep a value a string).'),
    maxResponseBytes: z.number().int().min(1_024).max(67_108_864).default(1_048_576).describe('Largest SOAP response read; a larger one is a 502.'),
    faultStatus: z.record(z.string().min(1).max(128), z.number().int().min(400).max(599)).default({}).describe('HTTP status for a SOAP fault by fault code local name (`Client`, `Server`, `Sender`, `Receiver`, …); default 502.'),
  })
  .describe('Expose a JSON endpoint in front of a SOAP service: the JSON request fills an envelope template, the XML response becomes JSON, a SOAP Fault becomes problem+json.');

export type GrpcAction = z.infer<typeof grpcActionSchema>;
export type GrpcWebAction = z.infer<typeof grpcWebActionSchema>;
export type SoapAction = z.infer<typeof soapActionSchema>;
