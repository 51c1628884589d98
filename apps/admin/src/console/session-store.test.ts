import { describe, expect, it } from 'vitest';
import { ConsoleSessions } from './session-store.js';

const token = { id: 'atk_1', hash: 'a'.repeat(64) };

describe('console sessions', () => {
  it('slide on use and end after the idle time', () => {
    let now = 1_000_000;
    const sessions = new ConsoleSessions({ idleMs: 1_000, absoluteMs: 60_000 }, () => now);
    const { id } = sessions.create(token);
    now += 900;
    expect(sessions.use(id)).toBeDefined();
    now += 900; // 1,800 ms after sign-in but 900 after the last use
    expect(sessions.use(id)).toBeDefined();
    now += 1_000;
    expect(sessions.use(id)).toBeUndefined();
    expect(sessions.size).toBe(0);
  });

  it('end at the absolute expiry however busy', () => {
    let now = 0;
    const sessions = new ConsoleSessions({ idleMs: 1_000, absoluteMs: 3_000 }, () => now);
    const { id } = sessions.create(token);
    for (now = 500; now < 3_000; now += 500) expect(sessions.use(id)).toBeDefined();
    expect(sessions.use(id)).toBeUndefined();
  });

  it('hold only the digest of the id, and give every session its own id and CSRF token', () => {
    const sessions = new ConsoleSessions();
    const a = sessions.create(token);
    const b = sessions.create(token);
    expect(a.id).not.toBe(b.id);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify([...(sessions as unknown as { sessions: Map<string, unknown> }).sessions])).not.toContain(a.id);
    expect(sessions.end(a.id)).toBe(true);
    expect(sessions.use(a.id)).toBeUndefined();
    expect(sessions.use(b.id)).toBeDefined();
  });

  it('stay within maxSessions, ending the oldest first', () => {
    const sessions = new ConsoleSessions({ maxSessions: 3 });
    const ids = Array.from({ length: 5 }, () => sessions.create(token).id);
    expect(sessions.size).toBe(3);
    expect(sessions.use(ids[0]!)).toBeUndefined();
    expect(sessions.use(ids[4]!)).toBeDefined();
  });
});
