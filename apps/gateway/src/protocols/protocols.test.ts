import { Metadata } from '@grpc/grpc-js';
import { loadProto, parsePathTemplate, type CompiledPathTemplate } from '@tollgate/compiler';
import { describe, expect, it } from 'vitest';
import { Base64Stream, encodeGrpcMessage, frame, parseFrames, parseGrpcTimeout, trailerFrame } from './grpc-web.js';
import { grpcProblem, httpStatusOf } from './grpc-status.js';
import { decodeToJson, encodeJson, JsonMappingError, jsonToObject } from './proto-json.js';
import { readFault, renderEnvelope, xmlEscape } from './soap.js';
import { matchTemplate } from './transcode.js';

const PROTO = `syntax = "proto3";
package t;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/field_mask.proto";
enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
message Inner { string some_text = 1; }
message All {
  int32 i32 = 1; int64 i64 = 2; uint64 u64 = 3; double d = 4; bool b = 5; string s = 6; bytes raw = 7;
  Color color = 8; repeated int32 nums = 9; map<string, Inner> by_key = 10; Inner inner = 11;
  google.protobuf.Timestamp at = 12; google.protobuf.Duration took = 13; google.protobuf.Int64Value maybe = 14;
  google.protobuf.Struct meta = 15; google.protobuf.FieldMask mask = 16; string renamed = 17 [json_name = "otherName"];
  google.protobuf.Value any_value = 18;
}`;

const loaded = loadProto({ files: { 't.proto': PROTO } });
if (!loaded.ok) throw new Error(loaded.message);
const All = loaded.proto.root.lookupType('t.All');

const template = (p: string): CompiledPathTemplate => {
  const t = parsePathTemplate(p);
  if (!t.ok) throw new Error(t.message);
  return t.template;
};

describe('proto3 JSON mapping', () => {
  it('round-trips every kind of field with the proto3 JSON forms', () => {
    const json = {
      i32: -5,
      i64: '-9007199254740993',
      u64: '18446744073709551615',
      d: 'Infinity',
      b: true,
      s: 'é',
      raw: Buffer.from([0, 255]).toString('base64'),
      color: 'RED',
      nums: [1, '2'],
      byKey: { k: { someText: 'v' } },
      inner: { some_text: 'proto name accepted' },
      at: '2024-02-29T12:00:00.123456Z',
      took: '-1.5s',
      maybe: '42',
      meta: { a: [1, 'x', null, { b: false }] },
      mask: 'someText,inner.someText',
      otherName: 'json_name honoured',
      anyValue: null,
    };
    const out = decodeToJson(All, encodeJson(All, json), false);
    expect(out).toEqual({
      i32: -5,
      i64: '-9007199254740993',
      u64: '18446744073709551615',
      d: 'Infinity',
      b: true,
      s: 'é',
      raw: 'AP8=',
      color: 'RED',
      nums: [1, 2],
      byKey: { k: { someText: 'v' } },
      inner: { someText: 'proto name accepted' },
      at: '2024-02-29T12:00:00.123456Z',
      took: '-1.500s',
      maybe: '42',
      meta: { a: [1, 'x', null, { b: false }] },
      mask: 'someText,inner.someText',
      otherName: 'json_name honoured',
      anyValue: null,
    });
  });

  it('omits default values unless asked to emit them', () => {
    expect(decodeToJson(All, encodeJson(All, { i32: 0, s: '' }), false)).toEqual({});
    expect(decodeToJson(All, encodeJson(All, {}), true)).toMatchObject({ i32: 0, i64: '0', s: '', b: false, nums: [], color: 'COLOR_UNSPECIFIED' });
  });

  it('refuses what does not fit, naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ nope: 1 }, /no field "nope"/],
      [{ i32: 2 ** 31 }, /i32/],
      [{ i32: 1.5 }, /i32/],
      [{ u64: '-1' }, /u64/],
      [{ color: 'BLUE' }, /RED/],
      [{ b: 'yes' }, /b:/],
      [{ nums: 3 }, /expected an array/],
      [{ at: 'yesterday' }, /RFC 3339/],
      [{ took: '5m' }, /duration/],
      [{ inner: 'x' }, /expected a JSON object/],
      [[1], /expected a JSON object/],
    ];
    for (const [json, msg] of bad) expect(() => jsonToObject(All, json), JSON.stringify(json)).toThrow(msg);
    expect(() => jsonToObject(All, { nope: 1 })).toThrow(JsonMappingError);
  });
});

describe('google.api.http template matching', () => {
  it('binds single- and multi-segment variables, decoding single segments', () => {
    expect(matchTemplate(template('/v1/shelves/{shelf}/books/{book}'), '/v1/shelves/a%20b/books/7')).toEqual(new Map([['shelf', 'a b'], ['book', '7']]));
    expect(matchTemplate(template('/v1/{name=shelves/*/books/*}'), '/v1/shelves/1/books/2')).toEqual(new Map([['name', 'shelves/1/books/2']]));
    expect(matchTemplate(template('/files/{path=**}'), '/files/a/b/c')).toEqual(new Map([['path', 'a/b/c']]));
    expect(matchTemplate(template('/v1/{name}:cancel'), '/v1/op1:cancel')).toEqual(new Map([['name', 'op1']]));
  });

  it('does not match other shapes', () => {
    expect(matchTemplate(template('/v1/shelves/{shelf}'), '/v1/shelves')).toBeNull();
    expect(matchTemplate(template('/v1/shelves/{shelf}'), '/v1/shelves/1/x')).toBeNull();
    expect(matchTemplate(template('/v1/{name}:cancel'), '/v1/op1')).toBeNull();
    expect(matchTemplate(template('/v1/{name=shelves/*}'), '/v1/boxes/1')).toBeNull();
    expect(matchTemplate(template('/v1/shelves/{shelf}'), '/v1/shelves/')).toBeNull();
  });
});

describe('gRPC status mapping (google/rpc/code.proto)', () => {
  it('maps every code to its HTTP status', () => {
    expect([...Array(17).keys()].map(httpStatusOf)).toEqual([200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401]);
    expect(httpStatusOf(99)).toBe(500);
  });

  it('builds a problem with the gRPC code and message as extensions', () => {
    const p = grpcProblem(8, 'quota', 'rid');
    expect(p.status).toBe(429);
    expect(JSON.parse(p.body)).toEqual({ type: 'https://tollgate.dev/errors/grpc-resource-exhausted', title: 'The gRPC upstream answered RESOURCE_EXHAUSTED', status: 429, code: 'GRPC_RESOURCE_EXHAUSTED', detail: 'quota', requestId: 'rid', grpcStatus: 8, grpcCode: 'RESOURCE_EXHAUSTED', grpcMessage: 'quota' });
  });
});

describe('gRPC-Web framing', () => {
  it('splits frames and refuses a truncated one', () => {
    const body = Buffer.concat([frame(0, Buffer.from('ab')), frame(0x80, Buffer.from('grpc-status: 0\r\n'))]);
    expect(parseFrames(body)?.map((f) => [f.flag, f.data.toString()])).toEqual([
      [0, 'ab'],
      [0x80, 'grpc-status: 0\r\n'],
    ]);
    expect(parseFrames(body.subarray(0, 6))).toBeNull();
  });

  it('writes trailers with a percent-encoded message and trailing metadata', () => {
    const md = new Metadata();
    md.set('x-count', '3');
    const t = trailerFrame(3, 'bad 100% é', md);
    expect(t[0]).toBe(0x80);
    expect(t.subarray(5).toString()).toBe('grpc-status: 3\r\ngrpc-message: bad 100%25 %C3%A9\r\nx-count: 3\r\n');
    expect(encodeGrpcMessage('ok')).toBe('ok');
  });

  it('base64-encodes a stream in pieces that decode on their own', () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    const enc = new Base64Stream();
    const pieces = [enc.push(data.subarray(0, 7)), enc.push(data.subarray(7, 8)), enc.push(data.subarray(8, 50)), enc.push(data.subarray(50)), enc.end()].map((b) => b.toString());
    expect(pieces.join('')).toBe(data.toString('base64'));
    for (const p of pieces.slice(0, -1)) expect(p.length % 4).toBe(0);
    expect(Buffer.concat(pieces.map((p) => Buffer.from(p, 'base64')))).toEqual(data);
  });

  it('reads grpc-timeout', () => {
    expect(parseGrpcTimeout('2S')).toBe(2000);
    expect(parseGrpcTimeout('150m')).toBe(150);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('10u')).toBe(1);
    expect(parseGrpcTimeout('soon')).toBeNull();
    expect(parseGrpcTimeout(undefined)).toBeNull();
  });
});

describe('SOAP', () => {
  it('renders an envelope with escaped values from body, path, query and headers', () => {
    const parts = [{ text: '<a>' }, { source: 'body' as const, path: ['x', 'y'] }, { text: '</a><b>' }, { source: 'path' as const, path: ['id'] }, { source: 'query' as const, path: ['q'] }, { source: 'header' as const, path: ['x-h'] }, { source: 'body' as const, path: ['missing'] }, { text: '</b>' }];
    expect(renderEnvelope(parts, { body: { x: { y: `<&'">` } }, path: { id: '7' }, query: new URLSearchParams('q=1%202'), headers: { 'x-h': ['a', 'b'] } })).toBe('<a>&lt;&amp;&apos;&quot;&gt;</a><b>71 2a, b</b>');
    expect(renderEnvelope([{ source: 'consumer', path: ['name'] }, { text: '|' }, { source: 'consumer', path: ['groups'] }], { body: {}, path: null, query: new URLSearchParams(), headers: {}, consumer: { name: 'a&b', groups: ['x', 'y'] } })).toBe('a&amp;b|x,y');
    expect(() => renderEnvelope([{ source: 'body', path: ['o'] }], { body: { o: [1] }, path: null, query: new URLSearchParams(), headers: {} })).toThrow(/array/);
    expect(xmlEscape('a&b')).toBe('a&amp;b');
  });

  it('reads SOAP 1.1 and 1.2 faults', () => {
    expect(readFault({ faultcode: 'soap:Client', faultstring: 'bad', detail: { x: 1 } })).toEqual({ code: 'soap:Client', reason: 'bad', detail: { x: 1 } });
    expect(readFault({ Code: { Value: 'env:Sender', Subcode: { Value: 'm:Bad' } }, Reason: { Text: ['Wrong input', 'Falsche Eingabe'] }, Detail: 'd' })).toEqual({ code: 'env:Sender', reason: 'Wrong input', detail: 'd' });
  });
});
