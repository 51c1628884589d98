import { describe, expect, it } from 'vitest';
import type { ChargeModel } from '@tollgate/model';
import { NANO, divideHalfUp, formatMajor, formatPrice, parsePrice, roundHalfUp } from './money.js';
import { charge, chargeAfterIncluded, describeParts, priceRange, uniformUnitPrice } from './pricing.js';

const minor = (n: bigint) => roundHalfUp(n);

describe('money', () => {
  it('parses and formats decimal prices exactly, never through a float', () => {
    expect(parsePrice('0.05')).toBe(50_000_000n);
    expect(parsePrice('12')).toBe(12n * NANO);
    expect(parsePrice('0.000000001')).toBe(1n);
    expect(parsePrice('999999999999.999999999')).toBe(999_999_999_999_999_999_999n);
    expect(formatPrice(parsePrice('1.50'))).toBe('1.5');
    expect(formatPrice(parsePrice('3'))).toBe('3');
    expect(() => parsePrice('1e3')).toThrow();
    expect(() => parsePrice('-1')).toThrow();
    expect(() => parsePrice('0.0000000001')).toThrow();
    // 0.1 + 0.2 is exact here (a float would give 0.30000000000000004).
    expect(formatPrice(parsePrice('0.1') + parsePrice('0.2'))).toBe('0.3');
  });

  it('rounds half up to the minor unit', () => {
    expect(roundHalfUp(NANO / 2n)).toBe(1n); // 0.5 → 1
    expect(roundHalfUp(NANO / 2n - 1n)).toBe(0n); // 0.499999999 → 0
    expect(roundHalfUp(parsePrice('2.5'))).toBe(3n);
    expect(roundHalfUp(parsePrice('2.4999'))).toBe(2n);
    expect(roundHalfUp(parsePrice('7'))).toBe(7n);
    expect(roundHalfUp(0n)).toBe(0n);
    expect(divideHalfUp(1n, 2n)).toBe(1n);
    expect(divideHalfUp(1n, 3n)).toBe(0n);
    expect(divideHalfUp(2n, 3n)).toBe(1n);
  });

  it('formats minor units in major units by the currency exponent', () => {
    expect(formatMajor(123456n, 'EUR')).toBe('1,234.56');
    expect(formatMajor(5n, 'USD')).toBe('0.05');
    expect(formatMajor(1234n, 'JPY')).toBe('1,234');
    expect(formatMajor(1234n, 'KWD')).toBe('1.234');
  });
});

describe('perUnit', () => {
  const model: ChargeModel = { perUnit: { unitPrice: '0.05' } };
  it('charges every unit the unit price, rounding once', () => {
    expect(charge(model, 0n)).toBe(0n);
    expect(minor(charge(model, 10n))).toBe(1n); // 0.5 cent → 1
    expect(minor(charge(model, 9n))).toBe(0n); // 0.45 → 0
    expect(minor(charge(model, 1_000_000n))).toBe(50_000n);
  });
  it('split ranges add up to the whole exactly (before rounding)', () => {
    const a = priceRange(model, 30n, 0n, 10n).amount;
    const b = priceRange(model, 30n, 10n, 30n).amount;
    expect(a + b).toBe(charge(model, 30n));
    expect(uniformUnitPrice(model, priceRange(model, 30n, 0n, 10n))).toBe('0.05');
  });
});

describe('graduated', () => {
  // units 1..1000 at 0.1, 1001..5000 at 0.05 plus a flat 100 once entered, beyond at 0.01.
  const model: ChargeModel = {
    graduated: {
      tiers: [
        { upTo: 1000, unitPrice: '0.1', flatFee: 0 },
        { upTo: 5000, unitPrice: '0.05', flatFee: 100 },
        { upTo: null, unitPrice: '0.01', flatFee: 0 },
      ],
    },
  };
  it('prices each unit by its tier, exactly at the boundaries', () => {
    expect(charge(model, 999n)).toBe(parsePrice('99.9'));
    expect(charge(model, 1000n)).toBe(parsePrice('100'));
    // the 1001st unit enters tier 2: its price plus the tier's flat fee
    expect(charge(model, 1001n)).toBe(parsePrice('100') + parsePrice('0.05') + 100n * NANO);
    expect(charge(model, 5000n)).toBe(parsePrice('100') + 4000n * parsePrice('0.05') + 100n * NANO);
    expect(charge(model, 5001n)).toBe(parsePrice('100') + 4000n * parsePrice('0.05') + 100n * NANO + parsePrice('0.01'));
  });
  it('charges a tier flat fee once, on the range that holds the tier\'s first unit', () => {
    const first = priceRange(model, 2000n, 0n, 1000n);
    const second = priceRange(model, 2000n, 1000n, 1500n);
    const third = priceRange(model, 2000n, 1500n, 2000n);
    expect(first.amount).toBe(parsePrice('100'));
    expect(second.amount).toBe(500n * parsePrice('0.05') + 100n * NANO);
    expect(third.amount).toBe(500n * parsePrice('0.05'));
    expect(first.amount + second.amount + third.amount).toBe(charge(model, 2000n));
    expect(describeParts(second)).toBe('500 × 0.05 (tier 2) + flat 100');
  });
  it('a range spanning tiers has no single unit price and describes each part', () => {
    const r = priceRange(model, 1200n, 900n, 1200n);
    expect(uniformUnitPrice(model, r)).toBeUndefined();
    expect(describeParts(r)).toBe('100 × 0.1 (tier 1) + 200 × 0.05 (tier 2) + flat 100');
  });
});

describe('volume', () => {
  const model: ChargeModel = {
    volume: {
      tiers: [
        { upTo: 1000, unitPrice: '0.1', flatFee: 0 },
        { upTo: 10000, unitPrice: '0.05', flatFee: 200 },
        { upTo: null, unitPrice: '0.02', flatFee: 0 },
      ],
    },
  };
  it('prices all units at the tier the total falls in, plus that tier\'s flat fee', () => {
    expect(charge(model, 1000n)).toBe(1000n * parsePrice('0.1')); // 100
    expect(charge(model, 1001n)).toBe(1001n * parsePrice('0.05') + 200n * NANO); // 250.05
    expect(charge(model, 10000n)).toBe(10000n * parsePrice('0.05') + 200n * NANO);
    expect(charge(model, 10001n)).toBe(10001n * parsePrice('0.02'));
    // not monotone: crossing into a cheaper tier can lower the total
    expect(charge(model, 10001n) < charge(model, 10000n)).toBe(true);
  });
  it('splits at the total\'s price; the flat fee goes with unit 1', () => {
    const a = priceRange(model, 3000n, 0n, 1000n);
    const b = priceRange(model, 3000n, 1000n, 3000n);
    expect(a.amount).toBe(1000n * parsePrice('0.05') + 200n * NANO);
    expect(b.amount).toBe(2000n * parsePrice('0.05'));
    expect(a.amount + b.amount).toBe(charge(model, 3000n));
  });
});

describe('package', () => {
  const model: ChargeModel = { package: { size: 1000, price: 500 } };
  it('charges ceil(units / size) packages', () => {
    expect(charge(model, 0n)).toBe(0n);
    expect(charge(model, 1n)).toBe(500n * NANO);
    expect(charge(model, 1000n)).toBe(500n * NANO);
    expect(charge(model, 1001n)).toBe(1000n * NANO);
    expect(charge(model, 2000n)).toBe(1000n * NANO);
  });
  it('a range pays for the packages its units start', () => {
    const a = priceRange(model, 2500n, 0n, 999n); // starts package 1
    const b = priceRange(model, 2500n, 999n, 1001n); // ends package 1, starts package 2
    const c = priceRange(model, 2500n, 1001n, 2500n); // starts package 3
    expect([a.amount, b.amount, c.amount]).toEqual([500n * NANO, 500n * NANO, 500n * NANO]);
    expect(a.amount + b.amount + c.amount).toBe(charge(model, 2500n));
    expect(describeParts(c)).toBe('1 package(s) of 1000 × 500');
  });
});

describe('included units', () => {
  it('only units past the included ones are charged; tiers start after them', () => {
    const model: ChargeModel = { graduated: { tiers: [{ upTo: 10, unitPrice: '2', flatFee: 0 }, { upTo: null, unitPrice: '1', flatFee: 0 }] } };
    expect(chargeAfterIncluded(model, 100n, 100n)).toBe(0n);
    expect(chargeAfterIncluded(model, 50n, 100n)).toBe(0n);
    expect(chargeAfterIncluded(model, 101n, 100n)).toBe(2n * NANO); // the first billable unit is tier 1
    expect(chargeAfterIncluded(model, 115n, 100n)).toBe((10n * 2n + 5n) * NANO);
  });
});

describe('the worked examples of docs/billing.md (2 500 billable units)', () => {
  it('match the charge functions', () => {
    const tiers = [
      { upTo: 1000, unitPrice: '0.1', flatFee: 0 },
      { upTo: null, unitPrice: '0.05', flatFee: 100 },
    ];
    expect(minor(charge({ perUnit: { unitPrice: '0.05' } }, 2500n))).toBe(125n);
    expect(minor(charge({ graduated: { tiers } }, 2500n))).toBe(275n);
    expect(minor(charge({ volume: { tiers } }, 2500n))).toBe(225n);
    expect(minor(charge({ package: { size: 1000, price: 40 } }, 2500n))).toBe(120n);
  });
});

describe('free and invalid', () => {
  it('no charge model is free', () => {
    expect(charge(undefined, 10n ** 12n)).toBe(0n);
  });
  it('refuses ranges outside the total', () => {
    expect(() => priceRange({ perUnit: { unitPrice: '1' } }, 10n, 5n, 11n)).toThrow();
    expect(() => priceRange({ perUnit: { unitPrice: '1' } }, 10n, 5n, 4n)).toThrow();
  });
});
