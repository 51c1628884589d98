import { describe, expect, it } from 'vitest';
import { sseFrame } from './handler.js';
import { topicMatches } from './mqtt-client.js';
import { scrub } from './client.js';

describe('sseFrame', () => {
  it('writes id, event and one data line per line of the body (WHATWG HTML §9.2)', () => {
    expect(sseFrame({ id: '41', target: 's', body: Buffer.from('a\nb\r\nc'), headers: {} })).toBe('id: 41\nevent: message\ndata: a\ndata: b\ndata: c\n\n');
    expect(sseFrame({ id: null, target: 's', body: Buffer.from('x'), headers: {} })).toBe('event: message\ndata: x\n\n');
  });
});

describe('topicMatches (MQTT 5 §4.7)', () => {
  it('matches + as one level and # as the rest', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/b', 'a/b/c')).toBe(false);
    expect(topicMatches('a/b/c', 'a/b')).toBe(false);
  });
});

describe('scrub', () => {
  it('removes credentials from URLs in error messages', () => {
    expect(scrub('connect failed: amqp://guest:s3cret@10.0.0.1:5672/vh')).toBe('connect failed: amqp://<redacted>@10.0.0.1:5672/vh');
    expect(scrub('nats://127.0.0.1:4222 refused')).toBe('nats://127.0.0.1:4222 refused');
  });
});
