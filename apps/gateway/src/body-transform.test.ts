import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RequestContext, type BodySink } from '@tollgate/policies';
import { captureResponse, collectBodyHooks, isJsonType } from './body-transform.js';
import { BodyTooLargeError, readBodyUpTo } from './buffered-body.js';

const ctx = () => new RequestContext('r', '1.2.3.4', 'GET', '/', {}, 'a', 'r');

describe('readBodyUpTo', () => {
  it('reads a whole body, and refuses past the limit', async () => {
    expect((await readBodyUpTo(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4)).toString()).toBe('abcd');
    await expect(readBodyUpTo(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 4)).rejects.toBeInstanceOf(BodyTooLargeError);
  });
});

describe('isJsonType', () => {
  it('application/json and +json, with parameters; nothing else', () => {
    expect(isJsonType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonType('Application/Problem+JSON')).toBe(true);
    expect(isJsonType('text/json')).toBe(false);
    expect(isJsonType('text/plain')).toBe(false);
    expect(isJsonType(undefined)).toBe(false);
  });
});

describe('captureResponse', () => {
  const collect = async (r: Readable) => {
    const chunks: Buffer[] = [];
    for await (const c of r) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };
  it('tees the body to a sink while passing it through, and skips a body over the limit', async () => {
    const got: string[] = [];
    const sink = (maxBytes: number): BodySink => ({ maxBytes, done: (b) => got.push(b.toString()) });
    let limit = 100;
    const hooks = collectBodyHooks([{ capture: () => sink(limit) }]);
    expect(hooks).not.toBeNull();
    const out = captureResponse((hooks as NonNullable<typeof hooks>), ctx(), 200, {}, Readable.from([Buffer.from('hel'), Buffer.from('lo')]));
    expect(await collect(out)).toBe('hello');
    expect(got).toEqual(['hello']);
    limit = 3;
    const big = captureResponse((hooks as NonNullable<typeof hooks>), ctx(), 200, {}, Readable.from([Buffer.from('hel'), Buffer.from('lo')]));
    expect(await collect(big)).toBe('hello');
    expect(got).toEqual(['hello']);
  });
  it('routes without hooks get null', () => {
    expect(collectBodyHooks([{ access: () => undefined }])).toBeNull();
  });
});
