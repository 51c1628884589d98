import { describe, expect, it } from 'vitest';
import { formatDuration, formatMoney, formatPercent, formatUnitPrice, thisMonth } from './format.js';

describe('console formatting', () => {
  it('shows minor units in the currency\'s own number of decimals', () => {
    expect(formatMoney(1759, 'EUR')).toBe('€17.59');
    expect(formatMoney(1500, 'JPY')).toBe('¥1,500');
    expect(formatMoney(1234, 'KWD')).toBe('KWD\u00a01.234');
  });

  it('shows decimal unit prices exactly (fractions of a cent)', () => {
    expect(formatUnitPrice('50', 'EUR')).toBe('€0.50');
    expect(formatUnitPrice('0.1', 'EUR')).toBe('€0.001');
    expect(formatUnitPrice('0.05', 'USD')).toBe('$0.0005');
  });

  it('rounds durations and shares for people', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(7_200)).toBe('2 h');
    expect(formatDuration(25 * 86_400)).toBe('25 days');
    expect(formatPercent(0.5)).toBe('50.0 %');
    expect(formatPercent(0.004)).toBe('0.40 %');
  });

  it('names the current UTC month', () => {
    expect(thisMonth(new Date('2026-12-31T23:30:00-05:00'))).toBe('2027-01');
  });
});
