import { describe, expect, it } from 'vitest';
import { allowFields, combine, denyFields, fieldAt, renameFields, shapeBody, type Shaping } from './shape.js';

const none: Shaping = { extract: null, allow: null, deny: [], rename: [], merge: false };
const p = (...fields: string[]) => fields.map((f) => f.split('.'));

describe('fieldAt', () => {
  it('walks objects and array indices; anything else is undefined', () => {
    const v = { data: { items: [{ id: 7 }, { id: 8 }] }, n: null };
    expect(fieldAt(v, ['data', 'items', '1', 'id'])).toBe(8);
    expect(fieldAt(v, ['data', 'items'])).toEqual([{ id: 7 }, { id: 8 }]);
    expect(fieldAt(v, ['n'])).toBeNull();
    expect(fieldAt(v, ['n', 'x'])).toBeUndefined();
    expect(fieldAt(v, ['data', 'items', 'x'])).toBeUndefined();
    expect(fieldAt(v, ['toString'])).toBeUndefined();
    expect(fieldAt('text', ['length'])).toBeUndefined();
  });
});

describe('allow, deny, rename', () => {
  const user = { id: 1, name: 'Ada', password: 'x', address: { city: 'Paris', street: 'Rue', zip: '75' } };

  it('allow keeps listed fields, nested ones with their parents, and skips absent ones', () => {
    expect(allowFields(user, p('id', 'address.city', 'nope', 'name.first'))).toEqual({ id: 1, address: { city: 'Paris' } });
  });

  it('deny removes listed fields, nested ones too, without touching the input', () => {
    const out = denyFields(user, p('password', 'address.zip', 'nope.x'));
    expect(out).toEqual({ id: 1, name: 'Ada', address: { city: 'Paris', street: 'Rue' } });
    expect(user.password).toBe('x');
    expect(user.address.zip).toBe('75');
  });

  it('rename keeps order and ignores absent fields', () => {
    expect(Object.keys(renameFields({ a: 1, b: 2, c: 3 }, [['b', 'bee'], ['zz', 'y']]))).toEqual(['a', 'bee', 'c']);
  });

  it('a __proto__ key in a body stays data and never changes a prototype', () => {
    const body = JSON.parse('{"__proto__": {"polluted": true}, "id": 1}') as Record<string, unknown>;
    const kept = allowFields(body, p('__proto__', 'id'));
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
    expect(Object.keys(kept)).toEqual(['__proto__', 'id']);
    const merged = combine([{ group: null, value: body }, { group: '__proto__', value: 5 }]);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(merged))).toEqual(JSON.parse('{"__proto__": 5, "id": 1}'));
  });
});

describe('shapeBody', () => {
  it('extracts, then filters and renames each object of an extracted array', () => {
    const body = { data: { items: [{ id: 1, secret: 's', total: 5 }, { id: 2, secret: 't', total: 6 }, 'x'] } };
    const r = shapeBody(body, { ...none, extract: ['data', 'items'], allow: p('id', 'secret', 'total'), deny: p('secret'), rename: [['total', 'amount']] });
    expect(r).toEqual({ ok: true, value: [{ id: 1, amount: 5 }, { id: 2, amount: 6 }, 'x'] });
  });

  it('an absent extract path fails the part', () => {
    expect(shapeBody({ data: {} }, { ...none, extract: ['data', 'items'] })).toEqual({ ok: false, reason: 'the body has no field data.items' });
  });

  it('merge needs an object', () => {
    expect(shapeBody([1], { ...none, merge: true })).toEqual({ ok: false, reason: 'the body is an array, not an object to merge' });
    expect(shapeBody(null, { ...none, merge: true })).toMatchObject({ ok: false });
    expect(shapeBody({ a: 1 }, { ...none, merge: true })).toEqual({ ok: true, value: { a: 1 } });
  });
});

describe('combine', () => {
  it('groups under keys and merges at the top level in declared order, later parts winning', () => {
    expect(combine([{ group: null, value: { a: 1, b: 1 } }, { group: 'user', value: { id: 3 } }, { group: null, value: { b: 2 } }, { group: 'list', value: [1] }])).toEqual({ a: 1, b: 2, user: { id: 3 }, list: [1] });
  });
});
