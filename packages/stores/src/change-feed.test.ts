import { describe, expect, it } from 'vitest';
import { parseNotification } from './sql-config-store.js';
import { changePayload } from './sql-tx.js';

describe('config channel payloads', () => {
  it('a plain integer is a config version; a JSON object with an integer seq is a change-feed position', () => {
    expect(parseNotification('42')).toEqual({ version: 42 });
    expect(parseNotification('{"seq":7,"changes":[{"kind":"ApiKey","id":"key_1","op":"create"}]}')).toEqual({ seq: 7 });
    expect(parseNotification('{"seq":8}')).toEqual({ seq: 8 });
  });

  it('ignores anything else', () => {
    for (const p of ['', 'x', '1.5', '{"seq":"7"}', '{"seq":1.5}', '{not json', '{}']) expect(parseNotification(p), p).toBeUndefined();
  });

  it('names what changed while it fits under the NOTIFY limit (8000 bytes), else only the position', () => {
    const few = changePayload(3, [{ kind: 'ApiKey', id: 'key_a', op: 'revoke' }]);
    expect(JSON.parse(few)).toEqual({ seq: 3, changes: [{ kind: 'ApiKey', id: 'key_a', op: 'revoke' }] });
    const many = changePayload(
      4,
      Array.from({ length: 1_000 }, (_, i) => ({ kind: 'ApiKey' as const, id: `key_${i}`, op: 'create' as const })),
    );
    expect(many).toBe('{"seq":4}');
    expect(parseNotification(many)).toEqual({ seq: 4 });
  });
});
