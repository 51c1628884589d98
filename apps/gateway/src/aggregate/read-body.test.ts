import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyOverLimitError, readBodyCapped } from './read-body.js';

describe('readBodyCapped', () => {
  it('reads a body up to the limit', async () => {
    const buf = await readBodyCapped(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4, undefined);
    expect(buf.toString()).toBe('abcd');
  });

  it('stops a streamed body past the limit and destroys the stream', async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1024));
      },
    });
    await expect(readBodyCapped(endless, 10_000, undefined)).rejects.toBeInstanceOf(BodyOverLimitError);
    expect(endless.destroyed).toBe(true);
    expect(pulled).toBeLessThan(20);
  });

  it('refuses a declared length over the limit before reading', async () => {
    const s = Readable.from([Buffer.from('x')]);
    await expect(readBodyCapped(s, 4, '5')).rejects.toThrow('larger than 4 bytes');
    expect(s.destroyed).toBe(true);
  });

  it('rejects when the stream fails or is destroyed early', async () => {
    const failing = new Readable({ read() {} });
    const p = readBodyCapped(failing, 100, undefined);
    failing.destroy(new Error('reset'));
    await expect(p).rejects.toThrow('reset');
    const cut = new Readable({ read() {} });
    const q = readBodyCapped(cut, 100, undefined);
    cut.destroy();
    await expect(q).rejects.toThrow('closed early');
  });
});
