import { describe, expect, it } from 'vitest';
import { compareDecimal, formatCents, formatUnits, notionalCents, rescale, toCents, toUnits, toUnitsExact } from './money';

describe('decimal strings to integer cents', () => {
  it('parses server strings exactly', () => {
    expect(toCents('189.50')).toBe(18950n);
    expect(toCents('0.01')).toBe(1n);
    expect(toCents('1000000.00')).toBe(100000000n);
    expect(toCents('-50.00')).toBe(-5000n);
    expect(toCents('7')).toBe(700n);
    expect(toCents('.5')).toBe(50n);
  });

  it('rounds extra decimals half away from zero', () => {
    expect(toCents('189.9545')).toBe(18995n);
    expect(toCents('189.9549')).toBe(18995n);
    expect(toCents('0.005')).toBe(1n);
    expect(toCents('-0.005')).toBe(-1n);
    expect(toCents('0.0049')).toBe(0n);
  });

  it('refuses what is not a plain decimal', () => {
    for (const bad of ['', 'abc', '1e3', '1,000.00', '1.2.3', '--1', null, undefined]) {
      expect(toCents(bad as string)).toBeNull();
    }
  });

  it('exact parse refuses sub-tick digits but accepts trailing zeros', () => {
    expect(toUnitsExact('10.50', 2)).toBe(1050n);
    expect(toUnitsExact('10.500', 2)).toBe(1050n);
    expect(toUnitsExact('10.505', 2)).toBeNull();
  });

  it('formats cents back to the server style', () => {
    expect(formatCents(18950n)).toBe('189.50');
    expect(formatCents(5n)).toBe('0.05');
    expect(formatCents(-5000n)).toBe('-50.00');
    expect(formatCents(0n)).toBe('0.00');
    expect(formatUnits(1899545n, 4)).toBe('189.9545');
  });

  it('multiplies quantity by price without floating point error', () => {
    // 0.1 + 0.2 style traps: 3 x 0.10 is exactly 0.30; 1,000,000 x 999,999.99 stays exact
    expect(formatCents(notionalCents(3, '0.10')!)).toBe('0.30');
    expect(formatCents(notionalCents(1_000_000, '999999.99')!)).toBe('999999990000.00');
    expect(formatCents(notionalCents(7, '189.57')!)).toBe('1326.99');
    expect(notionalCents(1, 'x')).toBeNull();
  });

  it('rescales with rounding', () => {
    expect(rescale(12345n, 4, 2)).toBe(123n);
    expect(rescale(12350n, 4, 2)).toBe(124n);
    expect(rescale(-12350n, 4, 2)).toBe(-124n);
    expect(rescale(5n, 2, 4)).toBe(500n);
  });

  it('compares decimals of different scales exactly', () => {
    expect(compareDecimal('189.50', '189.5')).toBe(0);
    expect(compareDecimal('189.51', '189.5')).toBe(1);
    expect(compareDecimal('9.99', '10.00')).toBe(-1);
    expect(compareDecimal(null, '1')).toBeNull();
    expect(toUnits('1.23', 0)).toBe(1n);
  });
});
