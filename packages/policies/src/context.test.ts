import { describe, expect, it } from 'vitest';
import { RequestContext } from './context.js';

describe('RequestContext upstream header changes', () => {
  const ctx = () => new RequestContext('r', '127.0.0.1', 'GET', '/', { apikey: 'k', accept: 'a' }, 'api', 'route', null);

  it('lists the removed client fields (lower case) for a caller that skips them while copying', () => {
    const c = ctx();
    expect(c.removedHeaders).toBeNull();
    // Names are given in lower case (policies lower-case configured names when parsing their config).
    c.removeUpstreamHeader('apikey');
    c.setUpstreamHeader('x-consumer-username', 'acme');
    expect(c.removedHeaders).toEqual(['apikey']);
    // Removals already done by the copy: only the gateway's own values are set, nothing deleted.
    const copied: Record<string, string | string[]> = { accept: 'a' };
    c.applyTo(copied, true);
    expect(copied).toEqual({ accept: 'a', 'x-consumer-username': 'acme' });
    // Without the flag the removals apply to what the caller copied.
    const all: Record<string, string | string[]> = { apikey: 'k', accept: 'a' };
    c.applyTo(all);
    expect(all).toEqual({ accept: 'a', 'x-consumer-username': 'acme' });
  });
});
