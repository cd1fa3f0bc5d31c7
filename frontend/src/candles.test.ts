import { describe, expect, it } from 'vitest';
import { applyTrade, bucketOf, fromApi } from './candles';
import type { Candle, Trade } from './types';

const T0 = Date.UTC(2026, 10, 22, 5, 37, 0) / 1000;
const trade = (seq: number, price: string, qty: number, ts: string): Trade => ({ seq, symbol: 'AAPL', price, qty, ts });

describe('candles from trades', () => {
  it('buckets trade times to the minute (UTC)', () => {
    expect(bucketOf('2026-11-22T05:37:59.999999+00:00')).toBe(T0);
    expect(bucketOf('2026-11-22T05:38:00+00:00')).toBe(T0 + 60);
    expect(bucketOf('2026-11-22T06:37:10+01:00')).toBe(T0);
  });

  it('converts API candles', () => {
    expect(fromApi({ time: '2026-11-22T05:37:00+00:00', open: '1.00', high: '2.00', low: '0.50', close: '1.50', volume: 7 })).toEqual({
      time: T0,
      open: '1.00',
      high: '2.00',
      low: '0.50',
      close: '1.50',
      volume: 7,
    });
  });

  it('starts the first candle from a trade', () => {
    expect(applyTrade([], trade(1, '189.50', 10, '2026-11-22T05:37:38Z'))).toEqual([
      { time: T0, open: '189.50', high: '189.50', low: '189.50', close: '189.50', volume: 10 },
    ]);
  });

  it('updates the last candle within its minute', () => {
    const start: Candle[] = [{ time: T0, open: '189.50', high: '189.50', low: '189.50', close: '189.50', volume: 10 }];
    let c = applyTrade(start, trade(2, '190.25', 5, '2026-11-22T05:37:40Z'));
    c = applyTrade(c, trade(3, '188.9', 1, '2026-11-22T05:37:50Z'));
    c = applyTrade(c, trade(4, '189.00', 4, '2026-11-22T05:37:59Z'));
    expect(c).toEqual([{ time: T0, open: '189.50', high: '190.25', low: '188.9', close: '189.00', volume: 20 }]);
    expect(start[0].volume).toBe(10); // not mutated
  });

  it('compares prices as decimals, not as text', () => {
    const start: Candle[] = [{ time: T0, open: '9.50', high: '9.50', low: '9.50', close: '9.50', volume: 1 }];
    const c = applyTrade(start, trade(2, '10.00', 1, '2026-11-22T05:37:40Z'));
    expect(c[0].high).toBe('10.00'); // "10.00" < "9.50" as strings
  });

  it('starts a new candle for a later minute and ignores an older trade', () => {
    const start: Candle[] = [{ time: T0, open: '189.50', high: '189.50', low: '189.50', close: '189.50', volume: 10 }];
    const c = applyTrade(start, trade(5, '191.00', 2, '2026-11-22T05:39:01Z'));
    expect(c).toHaveLength(2);
    expect(c[1]).toEqual({ time: T0 + 120, open: '191.00', high: '191.00', low: '191.00', close: '191.00', volume: 2 });
    expect(applyTrade(c, trade(6, '1.00', 1, '2026-11-22T05:38:30Z'))).toBe(c);
  });
});
