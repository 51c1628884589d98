import { describe, expect, it } from 'vitest';
import { RequestContext } from './context.js';
import { runResponseFields, type ResponseFieldsStep } from './runner.js';

const ctx = () => new RequestContext('r', '192.0.2.1', 'GET', '/', {}, 'api', 'route', null);

describe('runResponseFields', () => {
  it("appends the steps' fields; a name set again replaces the earlier field, the others keep their order", () => {
    const head: (string | string[])[] = ['content-type', 'text/plain', 'ratelimit', 'upstream', 'set-cookie', ['a=1', 'b=2'], 'x-ratelimit-remaining', '999'];
    const steps: ResponseFieldsStep[] = [(_c, h) => void h.push('ratelimit', 'one', 'x-ratelimit-remaining', '5'), (_c, h) => void h.push('x-ratelimit-remaining', '4', 'x-quota-limit', '10')];
    runResponseFields(steps, ctx(), head);
    expect(head).toEqual(['content-type', 'text/plain', 'set-cookie', ['a=1', 'b=2'], 'ratelimit', 'one', 'x-ratelimit-remaining', '4', 'x-quota-limit', '10']);
  });

  it('leaves the head as it was when no step adds a field', () => {
    const head: (string | string[])[] = ['a', '1', 'a', '2'];
    runResponseFields([() => {}], ctx(), head);
    expect(head).toEqual(['a', '1', 'a', '2']);
  });
});
