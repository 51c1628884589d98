import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import type { PolicyDeps, PolicyReply } from '../types.js';
import { requestValidation } from './index.js';
import { requestValidationSchema } from './schema.js';
import { ecmaToRe2 } from './re2-engine.js';
import { isPublicUrl } from './url-format.js';

const deps: PolicyDeps = { logger: { warn: () => undefined, error: () => undefined } };

async function run(config: unknown, path: string, query: string | null, body?: string): Promise<PolicyReply | undefined> {
  const policy = requestValidation.build(requestValidationSchema.parse(config), deps);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  const c = new RequestContext('r1', '127.0.0.1', 'POST', path, headers, 'api', 'route', query);
  if (body !== undefined) c.bodySource = { stream: Readable.from([Buffer.from(body)]), maxBytes: 4 * 1024 * 1024 };
  return (await policy.access?.(c)) ?? undefined;
}

/** Runs `fn` and returns how long it took, in ms. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const EVIL = '^(a+)+$';

describe('request-validation: patterns run on RE2', () => {
  // Sized so that the backtracking engine takes seconds (each extra character doubles it) while
  // RE2 takes a millisecond; the long variants show RE2 stays linear.
  it('answers catastrophic-backtracking patterns in linear time (query, body, patternProperties)', async () => {
    const q = { parameters: [{ name: 'q', in: 'query', schema: { type: 'string', pattern: EVIL } }] };
    for (const attack of [`${'a'.repeat(28)}!`, `${'a'.repeat(50_000)}!`]) expect(await timed(async () => expect(await run(q, '/x', `q=${attack}`)).toMatchObject({ status: 400 }))).toBeLessThan(1_500);
    const b = { body: { content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string', pattern: '(x+x+)+y' } }, patternProperties: { '^(a|a)*$': { type: 'integer' } } } } } } };
    for (const n of [28, 50_000]) {
      expect(await timed(async () => expect(await run(b, '/x', null, JSON.stringify({ name: 'x'.repeat(n) }))).toMatchObject({ status: 400 }))).toBeLessThan(1_500);
      expect(await timed(async () => expect(await run(b, '/x', null, JSON.stringify({ [`${'a'.repeat(n)}!`]: 'not an integer' }))).toBeUndefined())).toBeLessThan(1_500);
    }
    expect(await run(b, '/x', null, JSON.stringify({ aaa: 'no' }))).toMatchObject({ status: 400 });
  });

  it('keeps ECMA pattern semantics for the usual syntax, \\u escapes included', async () => {
    const schema = (pattern: string) => ({ parameters: [{ name: 'q', in: 'query', schema: { type: 'string', pattern } }] });
    expect(await run(schema('^[a-z]{2}-\\d+$'), '/x', 'q=ab-12')).toBeUndefined();
    expect(await run(schema('^[a-z]{2}-\\d+$'), '/x', 'q=ab-12x')).toMatchObject({ status: 400 });
    expect(await run(schema('caf\\u00e9'), '/x', `q=${encodeURIComponent('un café')}`)).toBeUndefined();
    expect(await run(schema('^\\uD83D\\uDE00$'), '/x', `q=${encodeURIComponent('😀')}`)).toBeUndefined();
  });

  it('refuses at apply what RE2 cannot run (lookarounds, backreferences), naming the schema', () => {
    for (const pattern of ['^(?=.*\\d)\\w+$', '(a)\\1', '(?<!x)y']) {
      const r = requestValidationSchema.safeParse({ parameters: [{ name: 'q', in: 'query', schema: { type: 'string', pattern } }] });
      expect(r.success, pattern).toBe(false);
      expect(r.error?.issues[0]).toMatchObject({ path: ['parameters', 0, 'schema'], message: expect.stringContaining('RE2') });
    }
  });

  it('matches path templates with several variables per segment in linear time', async () => {
    const config = { pathTemplate: '/t/{a}-{b}-{c}', parameters: ['a', 'b', 'c'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string', maxLength: 3 } })) };
    expect(await run(config, '/api/t/x-y-z', null)).toBeUndefined();
    expect(await timed(async () => run(config, `/api/t/${'-'.repeat(2_000)}/`, null))).toBeLessThan(1_500);
  });
});

describe('ecmaToRe2', () => {
  it('rewrites \\u escapes and leaves escaped backslashes alone', () => {
    expect(ecmaToRe2('\\u0041\\u{1F600}')).toBe('\\x{41}\\x{1F600}');
    expect(ecmaToRe2('\\uD83D\\uDE00')).toBe('\\x{1f600}');
    expect(ecmaToRe2('\\\\u0041')).toBe('\\\\u0041');
    expect(ecmaToRe2('[\\d\\-]+\\/')).toBe('[\\d\\-]+\\/');
  });
});

describe('url format', () => {
  it('keeps ajv-formats semantics', () => {
    for (const ok of ['http://example.com', 'https://a.b.example.org:8443/p?q=1#f', 'ftp://user:pw@files.example.net/x', 'http://8.8.8.8/']) expect(isPublicUrl(ok), ok).toBe(true);
    for (const bad of ['example.com', 'mailto:a@b.co', 'http://localhost/', 'http://10.0.0.1/', 'http://127.0.0.1', 'http://192.168.1.1', 'http://172.16.0.1', 'http://a b.com', 'http://-a.com', 'http://[::1]/']) expect(isPublicUrl(bad), bad).toBe(false);
  });

  it('runs in linear time on long values', () => {
    const t = performance.now();
    // ajv-formats' expression took over 3 s on the first one.
    for (const s of [`http://${':'.repeat(40_000)} `, `http://${':'.repeat(200_000)} `, `http://${'a-'.repeat(100_000)}`, `https://${'a.'.repeat(100_000)}!`]) isPublicUrl(s);
    expect(performance.now() - t).toBeLessThan(1_500);
  });
});
