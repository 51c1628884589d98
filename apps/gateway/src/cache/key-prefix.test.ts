import { describe, expect, it } from 'vitest';
import { ResponseCache } from './index.js';

describe('ResponseCache key prefix', () => {
  it('refuses a prefix with a brace (every entry would share one Redis Cluster slot), before opening any client', () => {
    expect(() => new ResponseCache({ keyPrefix: '{cache}:', logger: { warn() {}, info() {} } })).toThrow(/keyPrefix: must not contain/);
  });
});
