import { describe, expect, it } from 'vitest';
import { RequestContext } from './context.js';
import { runAccess, runResponseFields, type AccessStep, type ResponseFieldsStep } from './runner.js';

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

describe('runAccess', () => {
  it("answers with the last step's own promise when only that step is asynchronous (no extra promise layer)", async () => {
    const answer = Promise.resolve(undefined);
    const steps: AccessStep[] = [() => undefined, () => answer];
    expect(runAccess(steps, ctx())).toBe(answer);
    // An asynchronous step before others still runs them after it (in order).
    const order: string[] = [];
    const chained = runAccess([() => Promise.resolve(void order.push('a')), () => void order.push('b')], ctx());
    expect(chained).toBeInstanceOf(Promise);
    await chained;
    expect(order).toEqual(['a', 'b']);
  });
});
