import { performance } from 'node:perf_hooks';
import type { CompiledSoap } from '@tollgate/compiler';
import { classifyUpstreamError, countsAgainstTarget, Exchange, type TargetUpstream as RuntimeUpstream } from '@tollgate/upstream';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Dispatcher } from 'undici';
import { deadlineOf, problem, requestBody, type ProtocolHandler, type ProtocolRequest, type ProtocolResult } from './common.js';

/** XML 1.0 §2.4 escaping of character data and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** Characters XML 1.0 does not allow at all (§2.2): dropped from values rather than sent. */
const INVALID_XML_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

class TemplateValueError extends Error {}

/** Renders the envelope template with XML-escaped request values. */
export function renderEnvelope(parts: CompiledSoap['envelope'], values: { body: unknown; path: Readonly<Record<string, string>> | null; query: URLSearchParams; headers: Readonly<Record<string, string | string[] | undefined>>; consumer?: { readonly name: string; readonly customId?: string | null | undefined; readonly groups: readonly string[] } | null }): string {
  let out = '';
  for (const p of parts) {
    if ('text' in p) {
      out += p.text;
      continue;
    }
    let v: unknown;
    if (p.source === 'body') {
      v = values.body;
      for (const k of p.path) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
      if (v !== null && typeof v === 'object') throw new TemplateValueError(`body.${p.path.join('.')} is ${Array.isArray(v) ? 'an array' : 'an object'}; the envelope takes text values`);
    } else if (p.source === 'path') v = values.path?.[p.path[0] as string];
    else if (p.source === 'query') v = values.query.get(p.path[0] as string) ?? undefined;
    else if (p.source === 'consumer') {
      const c = values.consumer ?? null;
      const k = p.path[0];
      v = c === null ? undefined : k === 'name' ? c.name : k === 'customId' ? (c.customId ?? undefined) : c.groups.join(',');
    } else {
      const h = values.headers[p.path[0] as string];
      v = Array.isArray(h) ? h.join(', ') : h;
    }
    if (v === undefined || v === null) continue;
    out += xmlEscape(String(v).replace(INVALID_XML_CHARS, ''));
  }
  return out;
}

function localName(qname: string): string {
  const i = qname.lastIndexOf(':');
  return i === -1 ? qname : qname.slice(i + 1);
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') {
    const t = (v as Record<string, unknown>)['#text'];
    return t === undefined ? JSON.stringify(v) : String(t);
  }
  return String(v);
}

/** A SOAP 1.1 or 1.2 Fault's code, reason and detail. */
export function readFault(fault: Record<string, unknown>): { code: string; reason: string; detail: unknown } {
  if ('faultcode' in fault || 'faultstring' in fault) return { code: text(fault.faultcode), reason: text(fault.faultstring), detail: fault.detail ?? null };
  // SOAP 1.2: Code/Value (with an optional Subcode), Reason/Text, Detail.
  const code = fault.Code as Record<string, unknown> | undefined;
  const reason = fault.Reason as Record<string, unknown> | undefined;
  const t = reason?.Text;
  return { code: text(code?.Value), reason: text(Array.isArray(t) ? t[0] : t), detail: fault.Detail ?? null };
}

const XML_TYPES = /^(text\/xml|application\/xml|application\/soap\+xml|application\/[a-z0-9.+-]+\+xml)\s*(;|$)/i;

export class SoapConverter implements ProtocolHandler {
  readonly kind = 'soap' as const;
  readonly #parser: XMLParser;

  constructor(
    private readonly action: CompiledSoap,
    private readonly upstream: RuntimeUpstream,
    private readonly upstreamDeadlineMs: number,
  ) {
    this.#parser = new XMLParser({
      removeNSPrefix: true,
      ignoreAttributes: true,
      ignoreDeclaration: true,
      ignorePiTags: true,
      parseTagValue: action.parseValues,
      trimValues: true,
      numberParseOptions: { hex: false, leadingZeros: false, eNotation: true },
    });
  }

  async handle(req: ProtocolRequest): Promise<ProtocolResult> {
    const a = this.action;
    let body: unknown = {};
    const raw = await requestBody(req);
    if (!Buffer.isBuffer(raw)) return raw;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        return problem(req, 400, 'INVALID_JSON', 'The request body is not JSON', (err as Error).message);
      }
    }
    let envelope: string;
    try {
      envelope = renderEnvelope(a.envelope, { body, path: req.captures, query: new URLSearchParams(req.query ?? ''), headers: req.headers, consumer: req.ctx?.consumer ?? null });
    } catch (err) {
      if (err instanceof TemplateValueError) return problem(req, 400, 'INVALID_ARGUMENT', 'The request does not fit the SOAP envelope', err.message);
      throw err;
    }

    const exchange = Exchange.open(this.upstream, a.subset, req.pick, req.state);
    if (typeof exchange === 'string') return problem(req, 503, exchange, 'No upstream target available', `upstream ${a.upstream}: ${exchange}`);
    const picked = exchange.target;
    req.state.target = picked.origin;
    const payload = Buffer.from(envelope, 'utf8');
    const headers: Record<string, string> = {
      host: picked.host,
      'content-length': String(payload.length),
      'x-request-id': req.requestId,
      accept: a.version === '1.1' ? 'text/xml' : 'application/soap+xml',
    };
    // SOAP 1.1 §6.1.1 SOAPAction header; SOAP 1.2 Part 2 §7.1.4 action parameter (RFC 3902).
    if (a.version === '1.1') {
      headers['content-type'] = 'text/xml; charset=utf-8';
      headers.soapaction = `"${a.soapAction ?? ''}"`;
    } else headers['content-type'] = `application/soap+xml; charset=utf-8${a.soapAction !== null ? `; action="${a.soapAction}"` : ''}`;
    const t0 = performance.now();
    const ms = deadlineOf(req, this.upstreamDeadlineMs);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(Object.assign(new Error(`no response within ${ms} ms`), { code: 'UND_ERR_HEADERS_TIMEOUT' })), ms);
    // The client went away: the call is cancelled (its exchange ends with the response).
    const onGone = (): void => ac.abort(req.signal?.reason);
    req.signal?.addEventListener('abort', onGone, { once: true });
    let res: Dispatcher.ResponseData;
    let xml: string;
    try {
      res = await picked.pool.request({ method: 'POST', path: a.path, headers, body: payload, signal: ac.signal });
      exchange.attach(res.body, false);
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of res.body as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > a.maxResponseBytes) {
          clearTimeout(timer);
          req.signal?.removeEventListener('abort', onGone);
          exchange.end(false);
          return problem(req, 502, 'SOAP_RESPONSE_TOO_LARGE', 'The SOAP response is too large', `the upstream response exceeds maxResponseBytes (${a.maxResponseBytes})`);
        }
        chunks.push(c);
      }
      xml = Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onGone);
      const e = classifyUpstreamError(ac.signal.aborted ? ac.signal.reason : err);
      // A client that went away, or a request the gateway could not send, says nothing about the target.
      exchange.end(req.signal?.aborted !== true && countsAgainstTarget(e) ? true : undefined);
      return problem(req, e.status === 504 ? 504 : 502, e.code, e.status === 504 ? 'Upstream timed out' : 'Upstream unavailable', e.message);
    }
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onGone);
    req.state.upstreamMs = performance.now() - t0;
    // The exchange is over once the body is read: what follows only interprets it. A 5xx counts
    // against the target unless it carries a SOAP Fault (the service's answer, not a broken target).
    const soapFault = this.#interpret(req, res.statusCode, String(res.headers['content-type'] ?? ''), xml);
    exchange.end(res.statusCode >= 500 && !soapFault.fault);
    return soapFault.result;
  }

  /** Translates a complete SOAP response; never throws (a parser failure is a 502 like any bad response). */
  #interpret(req: ProtocolRequest, status: number, ct: string, xml: string): { result: ProtocolResult; fault: boolean } {
    const a = this.action;
    const bad = (detail: string): { result: ProtocolResult; fault: boolean } => ({ result: problem(req, 502, 'SOAP_BAD_RESPONSE', 'The SOAP upstream answered something else than SOAP', detail, { upstreamStatus: status }), fault: false });
    if (!XML_TYPES.test(ct)) return bad(`the upstream answered ${status} with Content-Type "${ct}", not XML`);
    // SOAP 1.2 Part 1 §5: no DTD; refusing it also rules out entity-expansion attacks.
    if (/<!DOCTYPE/i.test(xml)) return bad('the response contains a document type declaration, which SOAP forbids');
    const valid = XMLValidator.validate(xml);
    if (valid !== true) return bad(`the response is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
    let doc: Record<string, unknown>;
    try {
      // Well-formed XML the parser still refuses: nesting deeper than its limit, element names
      // such as __proto__ or constructor.
      doc = this.#parser.parse(xml) as Record<string, unknown>;
    } catch (err) {
      return bad(`the response could not be parsed: ${(err as Error).message}`);
    }
    const env = doc.Envelope as Record<string, unknown> | undefined;
    const soapBody = env !== undefined && env !== null && typeof env === 'object' ? (env.Body as Record<string, unknown> | undefined) : undefined;
    if (soapBody === undefined || soapBody === null || typeof soapBody !== 'object') return bad('the response has no Envelope/Body');
    if ('Fault' in soapBody) {
      const raw = soapBody.Fault;
      // A Fault with text content only (no faultcode/Code children) has no code or reason to read.
      const f = readFault(raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {});
      const code = a.faultStatus[localName(f.code)] ?? 502;
      const out = problem(req, code, 'SOAP_FAULT', 'The SOAP service answered with a fault', f.reason === '' ? `SOAP fault ${f.code}` : f.reason, { faultcode: f.code, faultstring: f.reason, faultDetail: f.detail, upstreamStatus: status });
      req.state.errorCode = null; // the service's answer, translated (metrics source "upstream")
      return { result: out, fault: true };
    }
    if (status < 200 || status >= 300) return bad(`the upstream answered ${status} without a SOAP Fault`);
    let out: unknown = doc;
    for (const k of a.responsePath) {
      out = out !== null && typeof out === 'object' && !Array.isArray(out) ? (out as Record<string, unknown>)[k] : undefined;
      if (out === undefined) return bad(`the response has no element ${a.responsePath.join('/')}`);
    }
    return { result: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(out === '' ? {} : out) }, fault: false };
  }
}
