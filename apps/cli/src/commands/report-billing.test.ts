import { describe, expect, it } from 'vitest';
import { lastClosedMonth } from './report-billing.js';

describe('report billing --month default', () => {
  it.each([
    ['2026-12-07T03:00:00Z', '2026-11'],
    ['2026-12-01T11:59:59Z', '2026-10'], // November is still open at UTC-12
    ['2026-12-01T12:00:00Z', '2026-11'],
    ['2027-01-01T12:00:00Z', '2026-12'],
    ['2027-01-01T00:00:00Z', '2026-11'],
    ['2026-03-15T00:00:00Z', '2026-02'],
  ])('at %s it is %s', (now, month) => {
    expect(lastClosedMonth(Date.parse(now))).toBe(month);
  });
});
